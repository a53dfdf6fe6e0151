import { ContextConsumer } from '@lit/context';
import { css, html, LitElement } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { serverInfoContext, sessionContext } from '../lib/contexts.js';
import { emit } from '../lib/events.js';
import { deepActiveElement } from '../lib/focus.js';
import { icons } from '../lib/icons.js';
import { sharedStyles } from '../styles/shared.js';
import './settings-menu.js';

/**
 * The sidebar: new chat, prompt search, the conversations, settings, the user and logout.
 * On a phone it is a drawer over the chat, shown while `open`, with a close button; Escape or
 * a tap beside it closes it too and gives the focus back to where it was when it opened. On a
 * desktop it can be collapsed to a narrow rail (new chat, search, expand), remembered across
 * visits.
 *
 *   <chat-sidebar ?open=${open}><conversation-list></conversation-list></chat-sidebar>
 *
 * @slot - the list of conversations, between the buttons at the top and the settings
 * @fires new-chat - {}: the New chat button was pressed
 * @fires open-search - {}: the search button (search earlier prompts) was pressed
 * @fires logout - {}: the Log out button was pressed
 * @fires open-usage - {}: the Usage button was pressed
 * @fires open-api-keys - {}: the API keys button was pressed
 * @fires open-admin - {}: the Admin button (shown to admins only) was pressed
 * @fires open-shortcuts - {}: the Keyboard shortcuts button was pressed
 * @fires sidebar-close - {}: the reader dismissed the drawer (Escape, or a tap beside it)
 */
const COLLAPSED_KEY = 'chat.sidebarCollapsed';

export class ChatSidebar extends LitElement {
  static properties = {
    open: { type: Boolean, reflect: true },
    collapsed: { type: Boolean, reflect: true },
    _transfer: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: flex;
        flex-shrink: 0;
      }
      nav {
        display: flex;
        flex-direction: column;
        width: 17.5rem;
        background: var(--bg-soft);
        border-right: 1px solid var(--border);
      }
      .top {
        display: flex;
        gap: 0.4rem;
        padding: 0.75rem;
      }
      .top button {
        display: inline-flex;
        align-items: center;
        gap: 0.35rem;
      }
      .new-chat {
        flex: 1;
        justify-content: center;
      }
      .bottom {
        border-top: 1px solid var(--border);
        padding: 0.75rem;
        display: flex;
        flex-direction: column;
        gap: 0.6rem;
      }
      .account {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
      }
      .user {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem;
      }
      .user span {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
        font-weight: 600;
      }
      .user button,
      .developer a {
        display: inline-flex;
        align-items: center;
        gap: 0.3rem;
        font-size: 0.9rem;
      }
      .developer {
        font-size: 0.85rem;
      }
      .developer a,
      .developer button {
        color: var(--fg-muted);
      }
      .developer button {
        padding: 0;
        min-height: 1.75rem;
      }
      kbd {
        font: inherit;
        font-size: 0.8rem;
        padding: 0 0.3rem;
        border: 1px solid var(--border);
        border-radius: 4px;
      }
      @media (hover: none) and (pointer: coarse) {
        .developer .shortcuts {
          display: none;
        }
      }
      .backdrop,
      .rail,
      .top .close-drawer {
        display: none;
      }
      @media (min-width: 769px) {
        :host([collapsed]) nav {
          width: 3.5rem;
        }
        :host([collapsed]) .full {
          display: none;
        }
        :host([collapsed]) .rail {
          display: flex;
          flex-direction: column;
          align-items: center;
          gap: 0.4rem;
          padding: 0.75rem 0;
        }
      }
      .full {
        display: flex;
        flex-direction: column;
        flex: 1;
        min-height: 0;
      }
      @media (max-width: 768px) {
        nav {
          position: fixed;
          inset: 0 auto 0 0;
          z-index: 10;
          width: min(20rem, 88vw);
          transform: translateX(-100%);
          visibility: hidden;
          /* hidden (out of the tab order) only once it has slid away */
          transition:
            transform 0.2s ease,
            visibility 0s linear 0.2s;
        }
        :host([open]) nav {
          transform: none;
          visibility: visible;
          transition:
            transform 0.2s ease,
            visibility 0s;
          box-shadow: 0 0 24px rgb(0 0 0 / 30%);
        }
        .top .collapse {
          display: none;
        }
        .top .close-drawer {
          display: inline-flex;
        }
        :host([open]) .backdrop {
          display: block;
          position: fixed;
          inset: 0;
          z-index: 9;
          background: rgb(0 0 0 / 40%);
        }
      }
      @media (prefers-reduced-motion: reduce) {
        nav {
          transition: none;
        }
      }
    `,
  ];

  #session = new ContextConsumer(this, { context: sessionContext, subscribe: true });
  #serverInfo = new ContextConsumer(this, { context: serverInfoContext, subscribe: true });
  #returnFocus = null;

  constructor() {
    super();
    this.open = false;
    this.collapsed = localStorage.getItem(COLLAPSED_KEY) === 'true';
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

  willUpdate(changed) {
    if (changed.has('open') && this.open) this.#returnFocus = deepActiveElement();
  }

  updated(changed) {
    if (changed.has('open') && this.open) this.renderRoot.querySelector('.new-chat')?.focus();
  }

  render() {
    const username = this.#session.value?.user.username ?? '';
    return html`
      <div class="backdrop" @click=${this.#dismiss}></div>
      <nav aria-label=${t('sidebar.label')}>
        <div class="rail">
          <button
            type="button"
            class="icon quiet expand"
            aria-label=${t('sidebar.expand')}
            title=${t('sidebar.expand')}
            aria-expanded="false"
            @click=${() => this.#setCollapsed(false)}
          >
            ${icons.sidebar}
          </button>
          <button
            type="button"
            class="icon primary"
            aria-label=${t('sidebar.newChat')}
            title=${t('sidebar.newChat')}
            @click=${() => emit(this, 'new-chat')}
          >
            ${icons.plus}
          </button>
          <button
            type="button"
            class="icon quiet"
            aria-label=${t('sidebar.searchPrompts')}
            title=${t('sidebar.searchPrompts')}
            @click=${() => emit(this, 'open-search')}
          >
            ${icons.search}
          </button>
        </div>
        <div class="full">
          <div class="top">
            <button
              type="button"
              class="icon quiet collapse"
              aria-label=${t('sidebar.collapse')}
              title=${t('sidebar.collapse')}
              aria-expanded="true"
              @click=${() => this.#setCollapsed(true)}
            >
              ${icons.sidebar}
            </button>
            <button type="button" class="new-chat primary" @click=${() => emit(this, 'new-chat')}>
              ${icons.plus}${t('sidebar.newChat')}
            </button>
            <button
              type="button"
              class="icon"
              aria-label=${t('sidebar.searchPrompts')}
              title=${t('sidebar.searchPrompts')}
              @click=${() => emit(this, 'open-search')}
            >
              ${icons.search}
            </button>
            <button
              type="button"
              class="icon quiet close-drawer"
              aria-label=${t('sidebar.close')}
              title=${t('sidebar.close')}
              @click=${this.#dismiss}
            >
              ${icons.close}
            </button>
          </div>
          <slot></slot>
          <div class="bottom">
            <settings-menu></settings-menu>
            ${
              this._transfer
                ? html`<data-transfer></data-transfer>`
                : html`<button type="button" class="quiet" @click=${this.#openTransfer}>
                    ${t('transfer.open')}
                  </button>`
            }
            <div class="account">
              <button type="button" class="quiet" @click=${() => emit(this, 'open-usage')}>
                ${t('usage.open')}
              </button>
              <button type="button" class="quiet" @click=${() => emit(this, 'open-account')}>
                ${t('account.open')}
              </button>
              <button type="button" class="quiet" @click=${() => emit(this, 'open-api-keys')}>
                ${t('apiKeys.open')}
              </button>
              ${
                this.#session.value?.user.role === 'ADMIN'
                  ? html`<button
                      type="button"
                      class="quiet"
                      @click=${() => emit(this, 'open-admin')}
                    >
                      ${t('admin.open')}
                    </button>`
                  : ''
              }
            </div>
            <div class="user">
              <span title=${username}>${username}</span>
              <button type="button" class="quiet" @click=${() => emit(this, 'logout')}>
                ${icons.logout}${t('sidebar.logout')}
              </button>
            </div>
            <div class="developer">
              <button
                type="button"
                class="quiet shortcuts"
                aria-keyshortcuts="?"
                @click=${() => emit(this, 'open-shortcuts')}
              >
                ${t('shortcuts.title')} <kbd>?</kbd>
              </button>
            </div>
            ${
              this.#serverInfo.value?.graphiql
                ? html`<div class="developer">
                    <a href="/graphql">${t('sidebar.apiExplorer')}</a>
                  </div>`
                : ''
            }
          </div>
        </div>
      </nav>
    `;
  }

  // Export and import is loaded when first opened: not part of the page's first load.
  #openTransfer = async () => {
    try {
      await import('./data-transfer.js');
    } catch {
      return; // the button stays; the next click tries again
    }
    this._transfer = true;
    await this.updateComplete;
    const transfer = this.renderRoot.querySelector('data-transfer');
    await transfer?.updateComplete;
    transfer?.show();
  };

  async #setCollapsed(collapsed) {
    this.collapsed = collapsed;
    localStorage.setItem(COLLAPSED_KEY, String(collapsed));
    await this.updateComplete;
    this.renderRoot.querySelector(collapsed ? '.expand' : '.collapse')?.focus();
  }

  #onKeyDown = (event) => {
    // A key handled once is handled once: Escape that closed a dialog or a rename box
    // inside the drawer leaves the drawer open.
    if (event.key !== 'Escape' || !this.open || event.defaultPrevented) return;
    if (event.composedPath().some((node) => node.localName === 'dialog' && node.open)) return;
    this.#dismiss();
  };

  #dismiss() {
    this.#returnFocus?.focus?.();
    this.#returnFocus = null;
    emit(this, 'sidebar-close');
  }
}

customElements.define('chat-sidebar', ChatSidebar);
