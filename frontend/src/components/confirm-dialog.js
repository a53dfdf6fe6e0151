import { css, html, LitElement } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { emit } from '../lib/events.js';
import { deepActiveElement } from '../lib/focus.js';
import { dialogStyles, sharedStyles } from '../styles/shared.js';

/**
 * A modal yes/no question on the native <dialog> (focus trap, Escape cancels). Focus
 * returns to the element that had it before opening.
 *
 *   <confirm-dialog .open=${true} message="Delete “Trip”?" confirmLabel="Delete"
 *                   @confirm=${...} @cancel=${...}></confirm-dialog>
 *
 * It stays open until `open` is set to false.
 *
 * @fires confirm - {}: the confirming button was pressed
 * @fires cancel - {}: Cancel or Escape
 */
export class ConfirmDialog extends LitElement {
  static properties = {
    open: { type: Boolean },
    message: { type: String },
    confirmLabel: { type: String },
  };

  static styles = [
    sharedStyles,
    dialogStyles,
    css`
      dialog {
        padding: 1.25rem;
        max-width: min(26rem, calc(100vw - 2rem));
      }
      p {
        margin: 0 0 1rem;
      }
      .buttons {
        display: flex;
        justify-content: flex-end;
        gap: 0.5rem;
      }
    `,
  ];

  constructor() {
    super();
    this.open = false;
    this.message = '';
    this.confirmLabel = '';
    new I18nController(this);
  }

  render() {
    return html`<dialog aria-labelledby="message" @cancel=${this.#onCancel}>
      <p id="message">${this.message}</p>
      <div class="buttons">
        <button type="button" class="cancel" @click=${this.#onCancel}>${t('dialog.cancel')}</button>
        <button type="button" class="danger" @click=${this.#onConfirm}>${this.confirmLabel}</button>
      </div>
    </dialog>`;
  }

  updated(changed) {
    if (!changed.has('open')) return;
    const dialog = this.renderRoot.querySelector('dialog');
    if (this.open && !dialog.open) {
      this._returnFocus = deepActiveElement();
      dialog.showModal();
      dialog.querySelector('.cancel').focus();
    } else if (!this.open && dialog.open) {
      dialog.close();
      this._returnFocus?.focus?.();
    }
  }

  #onCancel(event) {
    event.preventDefault();
    emit(this, 'cancel');
  }

  #onConfirm() {
    emit(this, 'confirm');
  }
}

customElements.define('confirm-dialog', ConfirmDialog);
