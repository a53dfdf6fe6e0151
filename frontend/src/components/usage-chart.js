import { css, html, LitElement, svg } from 'lit';
import { I18nController, formatNumber, t } from '../i18n/index.js';
import { totalTokens, usageChart } from '../lib/usage.js';
import { sharedStyles } from '../styles/shared.js';

const WIDTH = 300;
const HEIGHT = 100;

/**
 * Tokens per day as a bar chart drawn in SVG, oldest day on the left, with the same figures
 * in a table for screen readers.
 *
 *   <usage-chart .days=${[{ day, promptTokens, completionTokens, prompts }, ...]}></usage-chart>
 */
export class UsageChart extends LitElement {
  static properties = {
    days: { type: Array },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        /* what is only for screen readers is placed within the chart, not beside it */
        position: relative;
      }
      svg {
        display: block;
        width: 100%;
        height: 7rem;
      }
      rect {
        fill: var(--accent);
      }
      .axis {
        stroke: var(--border);
      }
      .legend {
        display: flex;
        justify-content: space-between;
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
    `,
  ];

  constructor() {
    super();
    this.days = [];
    new I18nController(this);
  }

  render() {
    const chart = usageChart(this.days, { width: WIDTH, height: HEIGHT });
    const total = totalTokens(this.days);
    const label = t('usage.chartLabel', {
      days: this.days.length,
      total: formatNumber(total),
      most: formatNumber(chart.most),
    });
    return html`
      <svg
        role="img"
        aria-label=${label}
        viewBox="0 0 ${WIDTH} ${HEIGHT}"
        preserveAspectRatio="none"
      >
        ${chart.bars.map(
          (bar) =>
            svg`<rect x=${bar.x} y=${bar.y} width=${bar.width} height=${bar.height}
              ><title>${bar.day}: ${formatNumber(bar.tokens)}</title></rect>`,
        )}
        <line class="axis" x1="0" y1=${HEIGHT} x2=${WIDTH} y2=${HEIGHT}></line>
      </svg>
      <div class="legend" aria-hidden="true">
        <span>${this.days[0]?.day ?? ''}</span>
        <span>${this.days.at(-1)?.day ?? ''}</span>
      </div>
      <div class="visually-hidden">
        <table>
          <caption>
            ${t('usage.tableCaption')}
          </caption>
          <thead>
            <tr>
              <th scope="col">${t('usage.day')}</th>
              <th scope="col">${t('usage.promptTokens')}</th>
              <th scope="col">${t('usage.completionTokens')}</th>
              <th scope="col">${t('usage.prompts')}</th>
            </tr>
          </thead>
          <tbody>
            ${this.days.map(
              (day) =>
                html`<tr>
                  <th scope="row">${day.day}</th>
                  <td>${formatNumber(day.promptTokens)}</td>
                  <td>${formatNumber(day.completionTokens)}</td>
                  <td>${formatNumber(day.prompts)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    `;
  }
}

customElements.define('usage-chart', UsageChart);
