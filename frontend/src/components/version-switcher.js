import { css, html, LitElement } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { emit } from '../lib/events.js';
import { sharedStyles } from '../styles/shared.js';

/**
 * "< 2 / 3 >": which version of a post is shown, and buttons to the one before and after.
 * The count is a live region, so a screen reader says the new place after each step; a
 * button at an end stays focusable (aria-disabled), so the focus is not lost there.
 *
 *   <version-switcher .index=${1} .count=${3} ?disabled=${busy}></version-switcher>
 *
 * @fires version-step - {step: -1 | 1}: Previous or Next was pressed
 */
export class VersionSwitcher extends LitElement {
  static properties = {
    index: { type: Number },
    count: { type: Number },
    disabled: { type: Boolean },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: inline-flex;
      }
      div {
        display: inline-flex;
        align-items: center;
        gap: 0.1rem;
        font-size: 0.85rem;
        color: var(--fg-muted);
      }
      button {
        min-height: 2rem;
        min-width: 2rem;
        padding: 0 0.4rem;
      }
      button[aria-disabled='true'] {
        opacity: 0.45;
        cursor: default;
      }
      .place {
        min-width: 2.6rem;
        text-align: center;
        font-variant-numeric: tabular-nums;
      }
    `,
  ];

  constructor() {
    super();
    this.index = 0;
    this.count = 1;
    this.disabled = false;
    new I18nController(this);
  }

  render() {
    const atStart = this.disabled || this.index <= 0;
    const atEnd = this.disabled || this.index >= this.count - 1;
    const place = { index: this.index + 1, count: this.count };
    return html`<div role="group" aria-label=${t('versions.label')}>
      <button
        type="button"
        class="quiet"
        aria-label=${t('versions.previous')}
        aria-disabled=${atStart ? 'true' : 'false'}
        @click=${() => atStart || emit(this, 'version-step', { step: -1 })}
      >
        ‹
      </button>
      <span class="place" aria-live="polite" aria-atomic="true"
        ><span aria-hidden="true">${this.index + 1} / ${this.count}</span
        ><span class="visually-hidden">${t('versions.place', place)}</span></span
      >
      <button
        type="button"
        class="quiet"
        aria-label=${t('versions.next')}
        aria-disabled=${atEnd ? 'true' : 'false'}
        @click=${() => atEnd || emit(this, 'version-step', { step: 1 })}
      >
        ›
      </button>
    </div>`;
  }
}

customElements.define('version-switcher', VersionSwitcher);
