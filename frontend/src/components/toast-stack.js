import { css, html, LitElement } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { I18nController, t } from '../i18n/index.js';
import { icons } from '../lib/icons.js';
import { sharedStyles } from '../styles/shared.js';

const NOTICE_MS = 3000;
const ERROR_MS = 9000;

/**
 * Short, non-blocking messages at the top right, announced politely to screen readers.
 *
 *   toasts.show('Copied');
 *   toasts.show('The model is unavailable', { kind: 'error' });
 *
 * The same message shown twice in a row is not stacked twice.
 */
export class ToastStack extends LitElement {
  static properties = {
    _toasts: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        position: fixed;
        top: 1rem;
        right: 1rem;
        z-index: 20;
        max-width: min(24rem, calc(100vw - 2rem));
        pointer-events: none;
      }
      .stack {
        display: flex;
        flex-direction: column;
        gap: 0.5rem;
      }
      .toast {
        display: flex;
        align-items: flex-start;
        gap: 0.5rem;
        padding: 0.6rem 0.6rem 0.6rem 0.9rem;
        border-radius: var(--radius);
        border: 1px solid var(--border);
        background: var(--bg-raised);
        box-shadow: 0 4px 16px rgb(0 0 0 / 18%);
        pointer-events: auto;
      }
      .toast.error {
        border-color: var(--danger);
        background: var(--danger-soft);
      }
      .toast.error .kind {
        color: var(--danger);
      }
      .text {
        flex: 1;
        padding-top: 0.35rem;
      }
      .kind {
        padding-top: 0.45rem;
      }
      @media (max-width: 768px) {
        :host {
          top: 0.5rem;
          left: 0.5rem;
          right: 0.5rem;
          max-width: none;
        }
      }
    `,
  ];

  constructor() {
    super();
    this._toasts = [];
    this._nextId = 1;
    new I18nController(this);
  }

  show(message, { kind = 'notice' } = {}) {
    const last = this._toasts.at(-1);
    if (last?.message === message) return;
    const id = this._nextId++;
    this._toasts = [...this._toasts, { id, message, kind }];
    setTimeout(() => this.#dismiss(id), kind === 'error' ? ERROR_MS : NOTICE_MS);
  }

  render() {
    return html`<div class="stack" role="status" aria-live="polite">
      ${repeat(
        this._toasts,
        (toast) => toast.id,
        (toast) =>
          html`<div class="toast ${toast.kind}">
            ${toast.kind === 'error' ? html`<span class="kind">${icons.warning}</span>` : ''}
            <span class="text">
              ${toast.kind === 'error' ? html`<span class="visually-hidden">${t('toast.error')}: </span>` : ''}${toast.message}
            </span>
            <button
              type="button"
              class="quiet icon"
              aria-label=${t('toast.dismiss')}
              @click=${() => this.#dismiss(toast.id)}
            >
              ${icons.close}
            </button>
          </div>`,
      )}
    </div>`;
  }

  #dismiss(id) {
    this._toasts = this._toasts.filter((toast) => toast.id !== id);
  }
}

customElements.define('toast-stack', ToastStack);
