import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { graphqlContext, serverInfoContext } from '../lib/contexts.js';
import { errorText } from '../lib/error-text.js';
import { asApiError } from '../lib/errors.js';
import { emit } from '../lib/events.js';
import { LOGIN, REGISTER } from '../lib/operations.js';
import { signOnProviders } from '../lib/single-sign-on.js';
import { cardPageStyles, sharedStyles } from '../styles/shared.js';
import './settings-menu.js';

/**
 * Log in, or sign up when the server allows it (its `serverInfo.allowSignup`); a "Log in
 * with …" link for each single sign-on provider (`serverInfo.singleSignOn`), and no password
 * form when the server takes none (`serverInfo.passwordLogin`).
 *
 *   <login-view .notice=${'Your session expired'} .username=${'ana'}></login-view>
 *
 * `notice` is shown above the form; `username` prefills it (the focus then starts on the
 * password).
 *
 * @fires logged-in - {session, password}: the server accepted the login or the sign-up;
 *   session is its AuthPayload `{ token, user, expiresAt }` and `remembered` ("keep me signed
 *   in" was checked), not saved yet; `password` only when it was a one-time password from an
 *   admin's reset (`user.passwordChangeRequired`), to change it with
 */
export class LoginView extends LitElement {
  static properties = {
    notice: { type: String },
    username: { type: String },
    _mode: { state: true },
    _error: { state: true },
    _busy: { state: true },
  };

  static styles = [
    sharedStyles,
    cardPageStyles,
    css`
      main {
        width: min(24rem, 100%);
      }
      h1 {
        margin: 0 0 1rem;
      }
      .remember {
        display: flex;
        align-items: center;
        gap: 0.5rem;
      }
      .remember input {
        width: 1.1rem;
        height: 1.1rem;
        margin: 0;
      }
      .field {
        display: flex;
        flex-direction: column;
        gap: 0.3rem;
      }
      .notice,
      .error {
        margin: 0 0 1rem;
        padding: 0.5rem 0.75rem;
        border-radius: 8px;
      }
      .notice {
        background: var(--warning-soft);
        color: var(--warning);
      }
      .error {
        background: var(--danger-soft);
        color: var(--danger);
      }
      .switch {
        margin: 1rem 0 0;
        text-align: center;
        font-size: 0.95rem;
      }
      .switch button {
        border: none;
        background: none;
        color: var(--accent);
        text-decoration: underline;
        padding: 0.2rem;
        min-height: auto;
      }
      settings-menu {
        margin-top: 1.25rem;
      }
      .sso {
        display: flex;
        flex-direction: column;
        gap: 0.6rem;
        margin-top: 1rem;
      }
      form[hidden] {
        display: none;
      }
      form[hidden] + .sso {
        margin-top: 0;
      }
      .sso .or {
        margin: 0;
        text-align: center;
        color: var(--fg-muted);
      }
      .sso a {
        display: flex;
        align-items: center;
        justify-content: center;
        min-height: 2.75rem;
        padding: 0.4rem 0.75rem;
        border: 1px solid var(--border);
        border-radius: 8px;
        background: var(--bg-raised);
        color: inherit;
        text-decoration: none;
        font-weight: 600;
      }
      .sso a:hover {
        border-color: var(--accent);
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });
  #serverInfo = new ContextConsumer(this, { context: serverInfoContext, subscribe: true });

  get #allowSignup() {
    return (this.#serverInfo.value?.allowSignup ?? false) && this.#passwordLogin;
  }

  get #passwordLogin() {
    return this.#serverInfo.value?.passwordLogin ?? true;
  }

  constructor() {
    super();
    this.notice = '';
    this.username = '';
    this._mode = 'login';
    this._error = '';
    this._busy = false;
    new I18nController(this);
  }

  firstUpdated() {
    const field = this.username ? '#password' : '#username';
    this.renderRoot.querySelector(field)?.focus();
  }

  render() {
    const signingUp = this._mode === 'register' && this.#allowSignup;
    return html`<main>
      <h1>${signingUp ? t('login.signUpTitle') : t('login.title')}</h1>
      ${this.notice && !this._error ? html`<p class="notice" role="status">${this.notice}</p>` : nothing}
      ${this._error ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      <form @submit=${this.#onSubmit} ?hidden=${!this.#passwordLogin}>
        <div class="field">
          <label for="username">${t('login.username')}</label>
          <input
            id="username"
            name="username"
            autocomplete="username"
            required
            .value=${this.username}
            ?disabled=${this._busy}
          />
        </div>
        <div class="field">
          <label for="password">${t('login.password')}</label>
          <input
            id="password"
            name="password"
            type="password"
            required
            autocomplete=${signingUp ? 'new-password' : 'current-password'}
            ?disabled=${this._busy}
          />
        </div>
        ${
          signingUp
            ? nothing
            : html`<label class="remember">
                <input type="checkbox" name="remember" ?disabled=${this._busy} />
                ${t('login.remember')}
              </label>`
        }
        <button type="submit" class="primary" ?disabled=${this._busy}>
          ${signingUp ? t('login.signUp') : t('login.logIn')}
        </button>
      </form>
      ${this.#renderSignOn()}
      ${
        this.#allowSignup
          ? html`<p class="switch">
              ${signingUp ? t('login.haveAccount') : t('login.noAccount')}
              <button type="button" @click=${this.#toggleMode}>
                ${signingUp ? t('login.logIn') : t('login.signUp')}
              </button>
            </p>`
          : nothing
      }
      <settings-menu></settings-menu>
    </main>`;
  }

  #renderSignOn() {
    const providers = signOnProviders(this.#serverInfo.value);
    if (providers.length === 0) return nothing;
    return html`<div class="sso">
      ${this.#passwordLogin ? html`<p class="or">${t('login.or')}</p>` : nothing}
      ${providers.map(
        (provider) =>
          html`<a href=${provider.loginUrl}
            >${t('login.singleSignOn', { name: provider.name })}</a
          >`,
      )}
    </div>`;
  }

  #toggleMode() {
    this._mode = this._mode === 'login' ? 'register' : 'login';
    this._error = '';
  }

  async #onSubmit(event) {
    event.preventDefault();
    const form = event.target;
    const username = form.username.value.trim();
    const password = form.password.value;
    const registering = this._mode === 'register' && this.#allowSignup;
    const remember = !registering && Boolean(form.remember?.checked);
    this._busy = true;
    this._error = '';
    try {
      const data = await this.#graphql.value.request(registering ? REGISTER : LOGIN, {
        username,
        password,
        ...(registering ? {} : { remember }),
      });
      const payload = registering ? data.register : data.login;
      const oneTime = payload.user?.passwordChangeRequired ? { password } : {};
      emit(this, 'logged-in', { session: { ...payload, remembered: remember }, ...oneTime });
    } catch (error) {
      this._error = this.#message(asApiError(error));
      this._busy = false;
      await this.updateComplete;
      this.renderRoot.querySelector('#password')?.focus();
    } finally {
      this._busy = false;
    }
  }

  #message(error) {
    if (error.extensions?.reason === 'account_disabled') return t('login.disabled');
    // A reason the page words (a lockout says how long it lasts), else what the code means.
    if (error.extensions?.reason) return errorText(error);
    if (error.code === 'BAD_USER_INPUT' || error.code === 'UNAUTHENTICATED')
      return t('login.wrong');
    return t(`error.${error.code}`);
  }
}

customElements.define('login-view', LoginView);
