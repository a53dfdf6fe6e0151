import { css, html, LitElement } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { emit } from '../lib/events.js';
import { deepActiveElement } from '../lib/focus.js';
import { icons } from '../lib/icons.js';
import { SHORTCUTS, shortcutFor } from '../lib/shortcuts.js';
import { dialogStyles, sharedStyles } from '../styles/shared.js';

/** The open <dialog> that `element` is in, looking out through shadow roots, or null. */
function openDialogAround(element) {
  let node = element;
  while (node) {
    const dialog = node.closest?.('dialog[open]');
    if (dialog) return dialog;
    node = node.getRootNode?.().host ?? null;
  }
  return null;
}

/**
 * The chat's keyboard shortcuts (lib/shortcuts.js), and the dialog that lists them, opened
 * with "?" (or `show()`). Escape or its button closes it.
 *
 *   <keyboard-shortcuts @shortcut=${(event) => act(event.detail.action)}></keyboard-shortcuts>
 *
 * @fires shortcut - {action}: 'new-chat', 'search', 'composer', 'stop' or 'copy-answer'
 */
export class KeyboardShortcuts extends LitElement {
  static styles = [
    sharedStyles,
    dialogStyles,
    css`
      dialog {
        width: min(28rem, calc(100vw - 1rem));
        padding: 1rem 1.25rem;
      }
      header {
        display: flex;
        align-items: center;
        justify-content: space-between;
      }
      h2 {
        margin: 0;
        font-size: 1.1rem;
      }
      dl {
        display: grid;
        grid-template-columns: 1fr auto;
        gap: 0.5rem 1rem;
        margin: 1rem 0 0;
      }
      dd {
        margin: 0;
        white-space: nowrap;
      }
      kbd {
        display: inline-block;
        min-width: 1.6rem;
        padding: 0.1rem 0.35rem;
        border: 1px solid var(--border);
        border-bottom-width: 2px;
        border-radius: 5px;
        background: var(--bg);
        font: inherit;
        font-size: 0.85rem;
        text-align: center;
      }
    `,
  ];

  constructor() {
    super();
    new I18nController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    window.addEventListener('keydown', this.#onKeyDown);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    window.removeEventListener('keydown', this.#onKeyDown);
  }

  /** Open the list of shortcuts. */
  async show() {
    await this.updateComplete;
    const dialog = this.renderRoot.querySelector('dialog');
    if (!dialog.open) dialog.showModal();
  }

  render() {
    return html`<dialog aria-labelledby="shortcuts-title">
      <header>
        <h2 id="shortcuts-title">${t('shortcuts.title')}</h2>
        <button
          type="button"
          class="quiet icon"
          aria-label=${t('shortcuts.close')}
          @click=${() => this.renderRoot.querySelector('dialog').close()}
        >
          ${icons.close}
        </button>
      </header>
      <dl>
        ${SHORTCUTS.map(
          (shortcut) =>
            html`<dt>${t(`shortcuts.${shortcut.action}`)}</dt>
              <dd>
                ${shortcut.keys.map((name, index) => html`${index ? ' + ' : ''}<kbd>${name}</kbd>`)}
              </dd>`,
        )}
      </dl>
    </dialog>`;
  }

  #onKeyDown = (event) => {
    if (event.defaultPrevented) return;
    const focused = deepActiveElement();
    const action = shortcutFor(event, focused);
    if (!action) return;
    const own = this.renderRoot.querySelector('dialog');
    const dialog = openDialogAround(focused);
    // Another dialog (search, a confirmation) has the page: its keys are its own.
    if (dialog && dialog !== own) return;
    event.preventDefault();
    if (action === 'help') {
      this.show();
      return;
    }
    if (own.open) own.close();
    emit(this, 'shortcut', { action });
  };
}

customElements.define('keyboard-shortcuts', KeyboardShortcuts);
