import { css, html, LitElement, nothing } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { clearDrafts } from '../lib/drafts.js';
import { asApiError } from '../lib/errors.js';
import { onUnauthenticated, reportUnauthenticated, request } from '../lib/graphql.js';
import { icons } from '../lib/icons.js';
import { LOGOUT, SERVER_INFO } from '../lib/operations.js';
import { clearSession, loadSession } from '../lib/session.js';
import { SubscriptionClient } from '../lib/ws-client.js';
import { sharedStyles } from '../styles/shared.js';
import './chat-view.js';
import './conversation-list.js';
import './login-view.js';
import './prompt-search.js';
import './settings-menu.js';
import './toast-stack.js';

const MOBILE_QUERY = '(max-width: 768px)';
const ANNOUNCED_CHARS = 600;

/** `#/c/<id>?post=<postId>&cursor=<cursor>` -> {conversationId, focusPost}. */
function parseRoute(hash) {
  const match = /^#\/c\/([^?]+)(?:\?(.*))?$/.exec(hash);
  if (!match) return { conversationId: null, focusPost: null };
  const params = new URLSearchParams(match[2] ?? '');
  const cursor = params.get('cursor');
  return {
    conversationId: decodeURIComponent(match[1]),
    focusPost: cursor ? { postId: params.get('post'), cursor } : null,
  };
}

function webSocketUrl() {
  const url = new URL('/graphql', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/** Markdown source reduced to something a screen reader can say. */
function plainText(markdown) {
  const text = markdown
    .replace(/```[\s\S]*?```/g, ' (code) ')
    .replace(/[#*_`>|]/g, '')
    .replace(/\s+/g, ' ');
  return text.length > ANNOUNCED_CHARS ? `${text.slice(0, ANNOUNCED_CHARS)}…` : text.trim();
}

/**
 * The app shell: login or the chat layout (sidebar, chat view), routing on the URL hash,
 * the WebSocket client, error toasts, and the live region that announces finished answers.
 *
 *   <chat-app></chat-app>
 */
export class ChatApp extends LitElement {
  static properties = {
    _session: { state: true },
    _serverInfo: { state: true },
    _route: { state: true },
    _loginNotice: { state: true },
    _lastUsername: { state: true },
    _sidebarOpen: { state: true },
    _connection: { state: true },
    _online: { state: true },
    _announcement: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        height: 100%;
      }
      .layout {
        display: flex;
        height: 100%;
      }
      .skip-link {
        position: absolute;
        left: 0.5rem;
        top: -3rem;
        z-index: 30;
        padding: 0.5rem 0.75rem;
        background: var(--bg-raised);
        color: var(--fg);
        border-radius: 8px;
      }
      .skip-link:focus {
        top: 0.5rem;
      }
      .sidebar {
        display: flex;
        flex-direction: column;
        width: 17.5rem;
        flex-shrink: 0;
        background: var(--bg-soft);
        border-right: 1px solid var(--border);
      }
      .sidebar-top {
        display: flex;
        gap: 0.4rem;
        padding: 0.75rem;
      }
      .sidebar-top button {
        display: inline-flex;
        align-items: center;
        gap: 0.35rem;
      }
      .new-chat {
        flex: 1;
        justify-content: center;
      }
      .sidebar-bottom {
        border-top: 1px solid var(--border);
        padding: 0.75rem;
        display: flex;
        flex-direction: column;
        gap: 0.6rem;
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
      .developer a {
        color: var(--fg-muted);
      }
      main {
        flex: 1;
        min-width: 0;
        display: flex;
        flex-direction: column;
      }
      chat-view {
        flex: 1;
        min-height: 0;
      }
      .banner {
        margin: 0;
        padding: 0.4rem 1rem;
        background: var(--warning-soft);
        color: var(--warning);
        text-align: center;
        font-size: 0.9rem;
      }
      .backdrop {
        display: none;
      }
      @media (max-width: 768px) {
        .sidebar {
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
        .sidebar.open {
          transform: none;
          visibility: visible;
          transition:
            transform 0.2s ease,
            visibility 0s;
          box-shadow: 0 0 24px rgb(0 0 0 / 30%);
        }
        .backdrop.open {
          display: block;
          position: fixed;
          inset: 0;
          z-index: 9;
          background: rgb(0 0 0 / 40%);
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .sidebar {
          transition: none;
        }
      }
    `,
  ];

  constructor() {
    super();
    this._session = loadSession();
    this._route = parseRoute(window.location.hash);
    this._sidebarOpen = false;
    this._connection = 'idle';
    this._online = navigator.onLine;
    this._announcement = '';
    this._loginNotice = '';
    this._lastUsername = this._session?.user?.username ?? '';
    this.client = new SubscriptionClient({
      url: webSocketUrl(),
      connectionParams: () => {
        const session = loadSession();
        return session ? { authorization: `Bearer ${session.token}` } : {};
      },
    });
    this.client.addEventListener('status', (event) => (this._connection = event.detail));
    this.client.addEventListener('unauthenticated', () => reportUnauthenticated());
    new I18nController(this);

    this.addEventListener('api-error', (event) => this.#onError(event.detail.error));
    this.addEventListener('notice', (event) => this.#toasts()?.show(event.detail.message));
  }

  connectedCallback() {
    super.connectedCallback();
    this._cleanups = [
      onUnauthenticated(() => this.#sessionExpired()),
      listen(window, 'hashchange', () => {
        this._route = parseRoute(window.location.hash);
        if (window.matchMedia(MOBILE_QUERY).matches) this._sidebarOpen = false;
      }),
      listen(window, 'online', () => (this._online = true)),
      listen(window, 'offline', () => (this._online = false)),
      listen(window, 'keydown', (event) => {
        if (event.key === 'Escape' && this._sidebarOpen) this.#closeSidebar();
      }),
    ];
    this.#loadServerInfo();
    this.#scheduleExpiry();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    for (const cleanup of this._cleanups) cleanup();
    clearTimeout(this._expiryTimer);
    this.client.reset();
  }

  render() {
    return html`
      ${this._session ? this.#renderChat() : this.#renderLogin()}
      <toast-stack></toast-stack>
      <div
        class="visually-hidden"
        role="status"
        aria-live="polite"
        aria-atomic="true"
        id="announcer"
      >
        ${this._announcement}
      </div>
    `;
  }

  #renderLogin() {
    return html`<login-view
      ?allowSignup=${this._serverInfo?.allowSignup ?? false}
      .notice=${this._loginNotice}
      .username=${this._lastUsername}
      @logged-in=${this.#onLoggedIn}
    ></login-view>`;
  }

  #renderChat() {
    const { conversationId, focusPost } = this._route;
    return html`
      <a class="skip-link" href="#prompt" @click=${this.#skipToComposer}
        >${t('app.skipToComposer')}</a
      >
      <div class="layout">
        <div class="backdrop ${this._sidebarOpen ? 'open' : ''}" @click=${this.#closeSidebar}></div>
        <nav class="sidebar ${this._sidebarOpen ? 'open' : ''}" aria-label=${t('sidebar.label')}>
          <div class="sidebar-top">
            <button type="button" class="new-chat primary" @click=${this.#newChat}>
              ${icons.plus}${t('sidebar.newChat')}
            </button>
            <button
              type="button"
              class="icon"
              aria-label=${t('sidebar.searchPrompts')}
              title=${t('sidebar.searchPrompts')}
              @click=${this.#openSearch}
            >
              ${icons.search}
            </button>
          </div>
          <conversation-list
            .activeId=${conversationId}
            @conversation-deleted=${this.#onConversationDeleted}
            @conversation-renamed=${this.#onConversationRenamed}
          ></conversation-list>
          <div class="sidebar-bottom">
            <settings-menu></settings-menu>
            <div class="user">
              <span title=${this._session.user.username}>${this._session.user.username}</span>
              <button type="button" class="quiet" @click=${this.#logout}>
                ${icons.logout}${t('sidebar.logout')}
              </button>
            </div>
            ${
              this._serverInfo?.graphiql
                ? html`<div class="developer">
                    <a href="/graphql">${t('sidebar.apiExplorer')}</a>
                  </div>`
                : ''
            }
          </div>
        </nav>
        <main>
          ${
            !this._online
              ? html`<p class="banner" role="status">${t('connection.offline')}</p>`
              : this._connection === 'reconnecting'
                ? html`<p class="banner" role="status">${t('connection.reconnecting')}</p>`
                : nothing
          }
          <chat-view
            .conversationId=${conversationId}
            .focusPost=${focusPost}
            .user=${this._session.user}
            .serverInfo=${this._serverInfo}
            .client=${this.client}
            @conversation-created=${this.#onConversationCreated}
            @conversation-changed=${this.#onConversationChanged}
            @answer-complete=${this.#onAnswerComplete}
            @toggle-sidebar=${this.#openSidebar}
          ></chat-view>
        </main>
      </div>
      <prompt-search @open-post=${this.#onOpenPost}></prompt-search>
    `;
  }

  async #loadServerInfo() {
    try {
      const { serverInfo } = await request(SERVER_INFO);
      this._serverInfo = serverInfo;
    } catch (error) {
      if (asApiError(error).code === 'NETWORK')
        this.#toasts()?.show(t('error.NETWORK'), { kind: 'error' });
    }
  }

  #scheduleExpiry() {
    clearTimeout(this._expiryTimer);
    const expiresAt = Date.parse(this._session?.expiresAt ?? '');
    if (Number.isNaN(expiresAt)) return;
    // setTimeout overflows past ~24.8 days; check again then.
    const delay = Math.min(expiresAt - Date.now(), 2 ** 31 - 1);
    this._expiryTimer = setTimeout(
      () => {
        if (loadSession()) this.#scheduleExpiry();
        else reportUnauthenticated();
      },
      Math.max(delay, 0),
    );
  }

  #sessionExpired() {
    if (!this._session) return;
    this._lastUsername = this._session.user.username;
    this._loginNotice = t('login.expired');
    this.#endSession();
  }

  #endSession() {
    clearSession();
    clearTimeout(this._expiryTimer);
    this.client.reset();
    this._session = null;
    this._sidebarOpen = false;
  }

  async #onLoggedIn(event) {
    this._session = event.detail.session;
    this._loginNotice = '';
    this.#scheduleExpiry();
    await this.updateComplete;
    const chat = this.renderRoot.querySelector('chat-view');
    await chat?.updateComplete;
    this.#composer()?.focus();
  }

  async #logout() {
    try {
      await request(LOGOUT);
    } catch {
      // The token is dropped here either way; a failed logout only means it lives to expiry.
    }
    clearDrafts();
    this._lastUsername = '';
    this._loginNotice = t('login.loggedOut');
    this.#endSession();
    window.location.hash = '#/';
  }

  #onError(error) {
    const apiError = asApiError(error);
    if (apiError.code === 'UNAUTHENTICATED') {
      reportUnauthenticated();
      return;
    }
    const message =
      apiError.code === 'BAD_USER_INPUT' ? apiError.message : t(`error.${apiError.code}`);
    this.#toasts()?.show(message, { kind: 'error' });
  }

  #toasts() {
    return this.renderRoot.querySelector('toast-stack');
  }

  #list() {
    return this.renderRoot.querySelector('conversation-list');
  }

  #newChat() {
    window.location.hash = '#/';
    this._sidebarOpen = false;
    this.updateComplete.then(() => this.#composer()?.focus());
  }

  #skipToComposer(event) {
    event.preventDefault();
    this.#composer()?.focus();
  }

  #composer() {
    return this.renderRoot.querySelector('chat-view')?.renderRoot.querySelector('prompt-composer');
  }

  #openSearch() {
    this._sidebarOpen = false;
    this.renderRoot.querySelector('prompt-search').show();
  }

  #openSidebar() {
    this._sidebarOpen = true;
    this.updateComplete.then(() => this.renderRoot.querySelector('.new-chat')?.focus());
  }

  #closeSidebar() {
    this._sidebarOpen = false;
    this.renderRoot.querySelector('chat-view')?.renderRoot.querySelector('.menu-button')?.focus();
  }

  #onOpenPost(event) {
    const { conversationId, postId, cursor } = event.detail;
    const query = new URLSearchParams({ post: postId, cursor });
    window.location.hash = `#/c/${encodeURIComponent(conversationId)}?${query}`;
  }

  #onConversationCreated(event) {
    window.location.hash = `#/c/${encodeURIComponent(event.detail.id)}`;
    this.#list()?.refresh();
  }

  #onConversationChanged(event) {
    this.#list()?.upsert(event.detail.conversation);
  }

  #onConversationRenamed(event) {
    this.renderRoot.querySelector('chat-view')?.conversationChanged(event.detail.conversation);
  }

  #onConversationDeleted(event) {
    if (event.detail.id === this._route.conversationId) window.location.hash = '#/';
  }

  async #onAnswerComplete(event) {
    // Clear first so that two identical answers in a row are both announced.
    this._announcement = '';
    await this.updateComplete;
    const { post, text } = event.detail;
    const status =
      post.status === 'COMPLETE' ? t('announce.complete') : t(`announce.${post.status}`);
    this._announcement = `${status} ${plainText(text)}`;
  }
}

function listen(target, name, handler) {
  target.addEventListener(name, handler);
  return () => target.removeEventListener(name, handler);
}

customElements.define('chat-app', ChatApp);
