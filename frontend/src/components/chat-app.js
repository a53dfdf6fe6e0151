import { ContextProvider } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { createRef, ref } from 'lit/directives/ref.js';
import { RouteController } from '../controllers/route.js';
import { SessionController } from '../controllers/session.js';
import { formatDateTime, language, setLanguage, t } from '../i18n/index.js';
import {
  graphqlContext,
  openConversationContext,
  preferencesContext,
  serverInfoContext,
  sessionContext,
  subscriptionsContext,
} from '../lib/contexts.js';
import { clearDrafts } from '../lib/drafts.js';
import { errorText } from '../lib/error-text.js';
import { asApiError } from '../lib/errors.js';
import { GraphQLClient } from '../lib/graphql.js';
import { CONTINUE_SHARED, LOGOUT, SERVER_INFO } from '../lib/operations.js';
import { applyTheme, loadTheme } from '../lib/preferences.js';
import { takePendingContinue } from '../lib/share-links.js';
import { sessionFromRefreshCookie, takeSignOnResult } from '../lib/single-sign-on.js';
import { spokenText } from '../lib/spoken-text.js';
import { SubscriptionClient } from '../lib/subscriptions.js';
import { quotaErrorText } from '../lib/usage.js';
import { sharedStyles } from '../styles/shared.js';
import './chat-sidebar.js';
import './chat-view.js';
import './connection-banner.js';
import './conversation-list.js';
import './keyboard-shortcuts.js';
import './live-announcer.js';
import './toast-stack.js';

// Dialogs few people open in a visit, loaded when first opened: the page's first load stays
// under its JavaScript budget (bench/bench_frontend.py).
const loadUsage = () => import('./usage-panel.js');
const loadApiKeys = () => import('./api-keys-panel.js');
const loadAccount = () => import('./account-settings.js');
const loadAdmin = () => import('./admin-page.js');
const loadSearch = () => import('./prompt-search.js');
// The login page only for who is signed out.
const loadLogin = () => import('./login-view.js');
// The page that asks for a new password only after an admin's reset.
const loadPasswordChange = () => import('./password-change-page.js');

const MOBILE_QUERY = '(max-width: 768px)';

function webSocketUrl() {
  const url = new URL('/graphql', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/**
 * The app shell: login or the chat layout (sidebar, chat view, prompt search), and what
 * every component below shares through @lit/context (lib/contexts.js): the session, the
 * GraphQL and subscription clients, the server's info, the conversation the URL opens, and
 * the preferences. It shows the errors and notices that components report, and announces
 * finished answers to screen readers.
 *
 *   <chat-app></chat-app>
 *
 * After an admin's password reset (`user.passwordChangeRequired` in the login's answer, kept
 * with the saved session; a request the API refuses with reason `password_change_required`
 * sets it too), the chat gives way to password-change-page until the password is changed or
 * the reader logs out: the API refuses the rest meanwhile.
 *
 * Listens for `api-error`, `notice`, `preferences-change` and `logged-in` from anywhere
 * below it, and for the chat's and the sidebar's own events (see chat-view, chat-sidebar,
 * conversation-list).
 */
export class ChatApp extends LitElement {
  static properties = {
    _serverInfo: { state: true },
    _loginNotice: { state: true },
    _lastUsername: { state: true },
    _sidebarOpen: { state: true },
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
    `,
  ];

  #sessions = new SessionController(this, {
    onExpired: (user) => this.#sessionExpired(user),
    onSignedOutElsewhere: () => this.#logout({ here: true }),
  });
  #router = new RouteController(this, {
    onChange: () => {
      if (window.matchMedia(MOBILE_QUERY).matches) this._sidebarOpen = false;
    },
  });
  #graphql = new GraphQLClient({
    token: () => this.#sessions.token,
    onUnauthenticated: () => this.#sessions.expire(),
  });
  #subscriptions = new SubscriptionClient({
    url: webSocketUrl(),
    graphql: this.#graphql,
    connectionParams: () => {
      const token = this.#sessions.token;
      return token ? { authorization: `Bearer ${token}` } : {};
    },
  });
  #providers = {
    session: new ContextProvider(this, { context: sessionContext }),
    graphql: new ContextProvider(this, { context: graphqlContext, initialValue: this.#graphql }),
    subscriptions: new ContextProvider(this, {
      context: subscriptionsContext,
      initialValue: this.#subscriptions,
    }),
    serverInfo: new ContextProvider(this, { context: serverInfoContext, initialValue: null }),
    openConversation: new ContextProvider(this, { context: openConversationContext }),
    preferences: new ContextProvider(this, {
      context: preferencesContext,
      initialValue: { language: language(), theme: loadTheme() },
    }),
  };
  #toasts = createRef();
  #announcer = createRef();
  #list = createRef();
  #chat = createRef();
  #search = createRef();
  #usage = createRef();
  #apiKeys = createRef();
  #account = createRef();
  #admin = createRef();
  #shortcuts = createRef();
  // The one-time password just logged in with, kept in memory only, to change it with.
  #givenPassword = '';

  constructor() {
    super();
    this._sidebarOpen = false;
    this._loginNotice = '';
    this._lastUsername = this.#sessions.session?.user?.username ?? '';
    this.#subscriptions.addEventListener('unauthenticated', () => this.#sessions.expire());

    this.addEventListener('api-error', (event) => this.#onError(event.detail.error));
    this.addEventListener('notice', (event) => this.#toasts.value?.show(event.detail.message));
    this.addEventListener('preferences-change', (event) => this.#changePreferences(event.detail));
    this.addEventListener('logged-in', (event) =>
      this.#onLoggedIn(event.detail.session, event.detail.password),
    );
    this.addEventListener('conversations-imported', () => this.#list.value?.refresh());
  }

  connectedCallback() {
    super.connectedCallback();
    this.#loadServerInfo();
    this.#takeUpSignOn();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.#subscriptions.reset();
  }

  willUpdate() {
    this.#providers.session.setValue(this.#sessions.session);
    this.#providers.serverInfo.setValue(this._serverInfo ?? null);
    this.#providers.openConversation.setValue(this.#router.route);
  }

  render() {
    const session = this.#sessions.session;
    return html`
      ${
        session
          ? session.user?.passwordChangeRequired
            ? this.#renderPasswordChange()
            : this.#renderChat()
          : this.#sessions.restoring
            ? nothing
            : this.#renderLogin()
      }
      <toast-stack ${ref(this.#toasts)}></toast-stack>
      <live-announcer ${ref(this.#announcer)}></live-announcer>
    `;
  }

  #renderLogin() {
    loadLogin().catch(() => this.#toasts.value?.show(t('error.NETWORK'), { kind: 'error' }));
    return html`<login-view
      .notice=${this._loginNotice}
      .username=${this._lastUsername}
    ></login-view>`;
  }

  #renderPasswordChange() {
    loadPasswordChange().catch(() =>
      this.#toasts.value?.show(t('error.NETWORK'), { kind: 'error' }),
    );
    return html`<password-change-page
      .givenPassword=${this.#givenPassword}
      @password-changed=${this.#onPasswordChanged}
      @logout=${() => this.#logout()}
    ></password-change-page>`;
  }

  #renderChat() {
    return html`
      <a class="skip-link" href="#prompt" @click=${this.#skipToComposer}
        >${t('app.skipToComposer')}</a
      >
      <div class="layout">
        <chat-sidebar
          ?open=${this._sidebarOpen}
          @new-chat=${this.#newChat}
          @open-search=${this.#openSearch}
          @logout=${() => this.#logout()}
          @open-usage=${() => this.#openDialog(this.#usage, loadUsage)}
          @open-api-keys=${() => this.#openDialog(this.#apiKeys, loadApiKeys)}
          @open-account=${() => this.#openDialog(this.#account, loadAccount)}
          @open-admin=${() => this.#openDialog(this.#admin, loadAdmin)}
          @open-shortcuts=${() => this.#openDialog(this.#shortcuts)}
          @sidebar-close=${() => (this._sidebarOpen = false)}
        >
          <conversation-list
            ${ref(this.#list)}
            @conversation-deleted=${this.#onConversationDeleted}
            @conversation-renamed=${this.#onConversationRenamed}
          ></conversation-list>
        </chat-sidebar>
        <main>
          <connection-banner></connection-banner>
          <chat-view
            ${ref(this.#chat)}
            @conversation-created=${this.#onConversationCreated}
            @conversation-changed=${this.#onConversationChanged}
            @answer-complete=${this.#onAnswerComplete}
            @toggle-sidebar=${() => (this._sidebarOpen = true)}
          ></chat-view>
        </main>
      </div>
      <prompt-search
        ${ref(this.#search)}
        @open-post=${(event) => this.#router.openPost(event.detail)}
      ></prompt-search>
      <keyboard-shortcuts
        ${ref(this.#shortcuts)}
        @shortcut=${this.#onShortcut}
      ></keyboard-shortcuts>
      <usage-panel ${ref(this.#usage)}></usage-panel>
      <api-keys-panel ${ref(this.#apiKeys)}></api-keys-panel>
      <account-settings ${ref(this.#account)}></account-settings>
      <admin-page ${ref(this.#admin)}></admin-page>
    `;
  }

  async #loadServerInfo() {
    try {
      const { serverInfo } = await this.#graphql.request(SERVER_INFO);
      this._serverInfo = serverInfo;
    } catch (error) {
      if (asApiError(error).code === 'NETWORK') {
        this.#toasts.value?.show(t('error.NETWORK'), { kind: 'error' });
      }
    }
  }

  /** Back from single sign-on: take up the session its callback left, or say why not. */
  async #takeUpSignOn() {
    const result = takeSignOnResult();
    if (!result) return;
    if (result.errorKey) {
      this._loginNotice = t(result.errorKey);
      return;
    }
    try {
      // The callback's cookie keeps this browser signed in.
      await this.#onLoggedIn({ ...(await sessionFromRefreshCookie()), remembered: true });
    } catch {
      this._loginNotice = t('login.sso.sso_failed');
    }
  }

  async #changePreferences({ language: code, theme }) {
    if (code) {
      try {
        await setLanguage(code);
      } catch {
        this.#toasts.value?.show(t('error.NETWORK'), { kind: 'error' });
      }
    }
    if (theme) applyTheme(theme);
    this.#providers.preferences.setValue({ language: language(), theme: loadTheme() });
    // The provider's own host is not among its consumers: its own text changes language too.
    this.requestUpdate();
  }

  async #onLoggedIn(session, password = '') {
    this.#givenPassword = session.user?.passwordChangeRequired ? password : '';
    this.#sessions.logIn(session);
    this._loginNotice = '';
    if (session.user?.passwordChangeRequired) return;
    await this.#enterChat();
  }

  async #onPasswordChanged() {
    this.#givenPassword = '';
    this.#sessions.updateUser({ passwordChangeRequired: false });
    this.#toasts.value?.show(t('passwordChange.done'));
    await this.#enterChat();
  }

  async #enterChat() {
    await this.updateComplete;
    await this.#chat.value?.updateComplete;
    this.#chat.value?.focusComposer();
    this.#continuePendingShare();
  }

  /** A shared page sent the reader here to log in and continue its conversation: copy it. */
  async #continuePendingShare() {
    const token = takePendingContinue();
    if (!token) return;
    try {
      const { continueSharedConversation } = await this.#graphql.request(CONTINUE_SHARED, {
        token,
      });
      this.#router.openConversation(continueSharedConversation.id);
      this.#list.value?.refresh();
    } catch (error) {
      this.#onError(error);
    }
  }

  #sessionExpired(user) {
    this._lastUsername = user.username;
    this._loginNotice = t('login.expired');
    this.#leaveChat();
  }

  /** Log out (`here`: another tab did, and this one follows). */
  async #logout({ here = false } = {}) {
    try {
      await this.#graphql.request(LOGOUT);
    } catch {
      // The token is dropped here either way; a failed logout only means it lives to expiry.
    }
    clearDrafts();
    this._lastUsername = '';
    this._loginNotice = t('login.loggedOut');
    this.#givenPassword = '';
    this.#sessions.end({ everywhere: !here });
    this.#leaveChat();
    this.#router.openNewChat();
  }

  #leaveChat() {
    this.#subscriptions.reset();
    this._sidebarOpen = false;
  }

  #onError(error) {
    const apiError = asApiError(error);
    if (apiError.code === 'UNAUTHENTICATED') {
      this.#sessions.expire();
      return;
    }
    if (apiError.extensions?.reason === 'password_change_required') {
      this.#sessions.updateUser({ passwordChangeRequired: true });
      return;
    }
    this.#toasts.value?.show(this.#errorMessage(apiError), { kind: 'error' });
  }

  #errorMessage(apiError) {
    if (apiError.code === 'QUOTA_EXCEEDED' && apiError.extensions?.resetsAt) {
      const { key, params } = quotaErrorText(apiError.extensions);
      return t(key, { ...params, resetsAt: formatDateTime(params.resetsAt) });
    }
    return errorText(apiError);
  }

  async #openDialog(dialog, load = null) {
    this._sidebarOpen = false;
    if (load) {
      try {
        await load();
      } catch (error) {
        this.#toasts.value?.show(t('error.NETWORK'), { kind: 'error' });
        return;
      }
      await dialog.value?.updateComplete;
    }
    dialog.value?.show();
  }

  #newChat() {
    this.#router.openNewChat();
    this._sidebarOpen = false;
    this.updateComplete.then(() => this.#chat.value?.focusComposer());
  }

  #skipToComposer(event) {
    event.preventDefault();
    this.#chat.value?.focusComposer();
  }

  #openSearch() {
    return this.#openDialog(this.#search, loadSearch);
  }

  #onShortcut(event) {
    const chat = this.#chat.value;
    const actions = {
      'new-chat': () => this.#newChat(),
      search: () => this.#openSearch(),
      composer: () => chat?.focusComposer(),
      stop: () => chat?.stopAnswer(),
      'copy-answer': () => chat?.copyLastAnswer(),
    };
    actions[event.detail.action]?.();
  }

  #onConversationCreated(event) {
    this.#router.openConversation(event.detail.id);
    this.#list.value?.refresh();
  }

  #onConversationChanged(event) {
    this.#list.value?.upsert(event.detail.conversation);
  }

  #onConversationRenamed(event) {
    this.#chat.value?.conversationChanged(event.detail.conversation);
  }

  #onConversationDeleted(event) {
    if (event.detail.id === this.#router.route.conversationId) this.#router.openNewChat();
  }

  #onAnswerComplete(event) {
    const { post, text } = event.detail;
    const status =
      post.status === 'COMPLETE' ? t('announce.complete') : t(`announce.${post.status}`);
    this.#announcer.value?.announce(`${status} ${spokenText(text)}`);
  }
}

customElements.define('chat-app', ChatApp);
