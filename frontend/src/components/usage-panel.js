import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { I18nController, formatDateTime, formatNumber, t } from '../i18n/index.js';
import { MY_USAGE } from '../lib/admin-operations.js';
import { graphqlContext } from '../lib/contexts.js';
import { emitError } from '../lib/events.js';
import { icons } from '../lib/icons.js';
import { quotaLeft, totalTokens } from '../lib/usage.js';
import { dialogStyles, sharedStyles } from '../styles/shared.js';
import './usage-chart.js';

const DAYS = 30;

/**
 * A dialog with the reader's own usage: tokens per day over the last 30 days as a chart,
 * what is left of their quotas, and when they reset.
 *
 *   <usage-panel></usage-panel>   ...   element.show();
 *
 * @fires api-error - {error}: the usage could not be loaded
 */
export class UsagePanel extends LitElement {
  static properties = {
    _usage: { state: true },
    _quota: { state: true },
    _loading: { state: true },
  };

  static styles = [
    sharedStyles,
    dialogStyles,
    css`
      dialog {
        width: min(32rem, calc(100vw - 1rem));
        padding: 0;
      }
      header {
        display: flex;
        align-items: center;
        justify-content: space-between;
        padding: 0.75rem;
        border-bottom: 1px solid var(--border);
      }
      h2 {
        margin: 0;
        font-size: 1rem;
      }
      .body {
        padding: 0.75rem;
        display: flex;
        flex-direction: column;
        gap: 0.75rem;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 0.3rem 0.75rem;
        margin: 0;
      }
      dt {
        color: var(--fg-muted);
      }
      dd {
        margin: 0;
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });

  constructor() {
    super();
    this._usage = [];
    this._quota = null;
    this._loading = false;
    new I18nController(this);
  }

  /** Open the dialog and load the usage afresh. */
  async show() {
    await this.updateComplete;
    const dialog = this.renderRoot.querySelector('dialog');
    if (!dialog.open) dialog.showModal();
    this.renderRoot.querySelector('.close').focus();
    this.#load();
  }

  render() {
    return html`<dialog aria-labelledby="usage-title">
      <header>
        <h2 id="usage-title">${t('usage.title')}</h2>
        <button
          type="button"
          class="quiet icon close"
          aria-label=${t('usage.close')}
          @click=${() => this.renderRoot.querySelector('dialog').close()}
        >
          ${icons.close}
        </button>
      </header>
      <div class="body">
        <div role="status" class="visually-hidden">${this._loading ? t('usage.loading') : ''}</div>
        <usage-chart .days=${this._usage}></usage-chart>
        <dl>
          <dt>${t('usage.last30')}</dt>
          <dd>${formatNumber(totalTokens(this._usage))}</dd>
          ${this.#renderQuota()}
        </dl>
      </div>
    </dialog>`;
  }

  #renderQuota() {
    const quota = this._quota;
    if (!quota || (quota.dailyTokens == null && quota.monthlyTokens == null)) {
      return html`<dt>${t('usage.quota')}</dt>
        <dd>${t('usage.noQuota')}</dd>`;
    }
    const left = quotaLeft(quota);
    return html`
      ${
        quota.dailyTokens == null
          ? nothing
          : html`<dt>${t('usage.today')}</dt>
              <dd class="daily">
                ${t('usage.leftOf', {
                  left: formatNumber(left.daily),
                  limit: formatNumber(quota.dailyTokens),
                  used: formatNumber(quota.usedToday),
                })}
              </dd>`
      }
      ${
        quota.monthlyTokens == null
          ? nothing
          : html`<dt>${t('usage.thisMonth')}</dt>
              <dd class="monthly">
                ${t('usage.leftOf', {
                  left: formatNumber(left.monthly),
                  limit: formatNumber(quota.monthlyTokens),
                  used: formatNumber(quota.usedThisMonth),
                })}
              </dd>`
      }
      <dt>${t('usage.resets')}</dt>
      <dd class="resets">${formatDateTime(quota.resetsAt)}</dd>
    `;
  }

  async #load() {
    this._loading = true;
    try {
      const { me } = await this.#graphql.value.request(MY_USAGE, { days: DAYS });
      this._usage = me.usage;
      this._quota = me.quota;
    } catch (error) {
      emitError(this, error);
    } finally {
      this._loading = false;
    }
  }
}

customElements.define('usage-panel', UsagePanel);
