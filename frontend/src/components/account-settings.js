import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { formatDateTime, I18nController, t } from '../i18n/index.js';
import { graphqlContext } from '../lib/contexts.js';
import { errorText } from '../lib/error-text.js';
import { asApiError } from '../lib/errors.js';
import { emitError, emitNotice } from '../lib/events.js';
import { icons } from '../lib/icons.js';
import { CHANGE_PASSWORD, END_SESSION, SESSIONS } from '../lib/operations.js';
import { dialogStyles, sharedStyles } from '../styles/shared.js';

/**
 * A dialog with the reader's account: change the password (every other session of theirs
 * ends), and their sessions still open, each of which they can end.
 *
 *   <account-settings></account-settings>   ...   element.show();
 *
 * @fires notice - {message}: the password was changed, or a session ended
 * @fires api-error - {error}: the sessions could not be loaded or ended
 */
export class AccountSettings extends LitElement {
  static properties = {
    _sessions: { state: true },
    _passwordError: { state: true },
    _busy: { state: true },
  };

  static styles = [
    sharedStyles,
    dialogStyles,
    css`
      dialog {
        width: min(34rem, calc(100vw - 1rem));
        max-height: calc(100dvh - 2rem);
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
      h3 {
        margin: 0 0 0.5rem;
        font-size: 0.95rem;
      }
      section {
        padding: 0.75rem;
      }
      section + section {
        border-top: 1px solid var(--border);
      }
      form {
        display: flex;
        flex-direction: column;
        gap: 0.6rem;
      }
      .field {
        display: flex;
        flex-direction: column;
        gap: 0.25rem;
      }
      .error {
        margin: 0;
        padding: 0.4rem 0.6rem;
        border-radius: 8px;
        background: var(--danger-soft);
        color: var(--danger);
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: flex;
        flex-direction: column;
        gap: 0.5rem;
      }
      li {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem;
        padding: 0.4rem 0.5rem;
        border: 1px solid var(--border);
        border-radius: 8px;
      }
      .device {
        min-width: 0;
        overflow-wrap: anywhere;
        font-size: 0.9rem;
      }
      .device small {
        display: block;
        color: var(--fg-muted);
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });

  constructor() {
    super();
    this._sessions = [];
    this._passwordError = '';
    this._busy = false;
    new I18nController(this);
  }

  /** Open the dialog and load the sessions afresh. */
  async show() {
    await this.updateComplete;
    const dialog = this.renderRoot.querySelector('dialog');
    if (!dialog.open) dialog.showModal();
    this.renderRoot.querySelector('#current-password').focus();
    this.#load();
  }

  render() {
    return html`<dialog aria-labelledby="account-title">
      <header>
        <h2 id="account-title">${t('account.title')}</h2>
        <button
          type="button"
          class="quiet icon close"
          aria-label=${t('account.close')}
          @click=${() => this.renderRoot.querySelector('dialog').close()}
        >
          ${icons.close}
        </button>
      </header>
      <section aria-labelledby="password-title">
        <h3 id="password-title">${t('account.changePassword')}</h3>
        <form @submit=${this.#changePassword}>
          ${this._passwordError ? html`<p class="error" role="alert">${this._passwordError}</p>` : nothing}
          <div class="field">
            <label for="current-password">${t('account.currentPassword')}</label>
            <input
              id="current-password"
              name="current"
              type="password"
              autocomplete="current-password"
              required
            />
          </div>
          <div class="field">
            <label for="new-password">${t('account.newPassword')}</label>
            <input
              id="new-password"
              name="next"
              type="password"
              autocomplete="new-password"
              minlength="8"
              maxlength="1024"
              aria-describedby="new-password-note"
              required
            />
            <small id="new-password-note">${t('account.newPasswordNote')}</small>
          </div>
          <button type="submit" class="primary" ?disabled=${this._busy}>
            ${t('account.changePassword')}
          </button>
        </form>
      </section>
      <section aria-labelledby="sessions-title">
        <h3 id="sessions-title" tabindex="-1">${t('account.sessions')}</h3>
        <ul aria-labelledby="sessions-title">
          ${this._sessions.map((session) => this.#renderSession(session))}
        </ul>
      </section>
    </dialog>`;
  }

  #renderSession(session) {
    const device = session.userAgent || t('account.unknownDevice');
    return html`<li>
      <span class="device"
        >${device}
        <small
          >${session.current ? html`<strong>${t('account.thisDevice')}</strong> · ` : nothing}${t(
            'account.signedIn',
            { when: formatDateTime(session.createdAt) },
          )}${session.address ? ` · ${session.address}` : ''}${
            session.remembered ? ` · ${t('account.kept')}` : ''
          }</small
        ></span
      >
      ${
        session.current
          ? nothing
          : html`<button
              type="button"
              aria-label=${t('account.endItem', { device })}
              @click=${() => this.#endSession(session)}
            >
              ${t('account.end')}
            </button>`
      }
    </li>`;
  }

  async #load() {
    try {
      const { sessions } = await this.#graphql.value.request(SESSIONS);
      this._sessions = sessions;
    } catch (error) {
      emitError(this, error);
    }
  }

  async #changePassword(event) {
    event.preventDefault();
    const form = event.target;
    this._busy = true;
    this._passwordError = '';
    try {
      await this.#graphql.value.request(CHANGE_PASSWORD, {
        currentPassword: form.current.value,
        newPassword: form.next.value,
      });
      form.reset();
      emitNotice(this, t('account.passwordChanged'));
      await this.#load();
    } catch (error) {
      const apiError = asApiError(error);
      if (apiError.code === 'UNAUTHENTICATED') emitError(this, apiError);
      else this._passwordError = errorText(apiError);
    } finally {
      this._busy = false;
    }
  }

  async #endSession(session) {
    try {
      await this.#graphql.value.request(END_SESSION, { id: session.id });
      emitNotice(this, t('account.sessionEnded'));
      await this.#load();
      this.renderRoot.querySelector('#sessions-title')?.focus?.();
    } catch (error) {
      emitError(this, error);
    }
  }
}

customElements.define('account-settings', AccountSettings);
