import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { graphqlContext } from '../lib/contexts.js';
import { errorText } from '../lib/error-text.js';
import { asApiError } from '../lib/errors.js';
import { emit, emitError } from '../lib/events.js';
import { CHANGE_PASSWORD } from '../lib/operations.js';
import { cardPageStyles, sharedStyles } from '../styles/shared.js';

/**
 * What a user sees after an administrator reset their password: nothing else until they
 * choose their own (the new password twice, with the limits of the account dialog), or log
 * out. It is a page, not a dialog, so that there is nothing to dismiss.
 *
 *   <password-change-page .givenPassword=${'the one-time password'}></password-change-page>
 *
 * `givenPassword` is the one-time password the reader has just logged in with; without it
 * (the page loaded again later) the page asks for it as well.
 *
 * @fires password-changed - the new password is set: the session goes on as it is
 * @fires logout - the reader chose to log out instead
 * @fires api-error - {error}: the session ended meanwhile
 */
export class PasswordChangePage extends LitElement {
  static properties = {
    givenPassword: { type: String },
    _error: { state: true },
    _busy: { state: true },
  };

  static styles = [
    sharedStyles,
    cardPageStyles,
    css`
      main {
        width: min(26rem, 100%);
      }
      h1 {
        margin: 0 0 0.5rem;
      }
      p {
        margin: 0 0 1rem;
      }
      .field {
        display: flex;
        flex-direction: column;
        gap: 0.3rem;
      }
      .error {
        padding: 0.5rem 0.75rem;
        border-radius: 8px;
        background: var(--danger-soft);
        color: var(--danger);
      }
      .actions {
        display: flex;
        justify-content: space-between;
        gap: 0.5rem;
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });

  constructor() {
    super();
    this.givenPassword = '';
    this._error = '';
    this._busy = false;
    new I18nController(this);
  }

  firstUpdated() {
    this.renderRoot.querySelector('input')?.focus();
  }

  render() {
    return html`<main aria-labelledby="password-change-title">
      <h1 id="password-change-title">${t('passwordChange.title')}</h1>
      <p>${t('passwordChange.explain')}</p>
      <form @submit=${this.#submit}>
        ${this._error ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
        ${
          this.givenPassword
            ? nothing
            : html`<div class="field">
                <label for="given-password">${t('passwordChange.given')}</label>
                <input
                  id="given-password"
                  name="given"
                  type="password"
                  autocomplete="current-password"
                  required
                />
              </div>`
        }
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
          <small id="new-password-note">${t('passwordChange.note')}</small>
        </div>
        <div class="field">
          <label for="repeat-password">${t('passwordChange.repeat')}</label>
          <input
            id="repeat-password"
            name="repeat"
            type="password"
            autocomplete="new-password"
            minlength="8"
            maxlength="1024"
            required
          />
        </div>
        <div class="actions">
          <button type="button" @click=${() => emit(this, 'logout')}>${t('sidebar.logout')}</button>
          <button type="submit" class="primary" ?disabled=${this._busy}>
            ${t('passwordChange.submit')}
          </button>
        </div>
      </form>
    </main>`;
  }

  async #submit(event) {
    event.preventDefault();
    const form = event.target;
    if (form.next.value !== form.repeat.value) {
      this._error = t('passwordChange.mismatch');
      form.repeat.focus();
      return;
    }
    this._busy = true;
    this._error = '';
    try {
      await this.#graphql.value.request(CHANGE_PASSWORD, {
        currentPassword: this.givenPassword || form.given.value,
        newPassword: form.next.value,
      });
      emit(this, 'password-changed');
    } catch (error) {
      const apiError = asApiError(error);
      if (apiError.code === 'UNAUTHENTICATED') emitError(this, apiError);
      else this._error = errorText(apiError);
    } finally {
      this._busy = false;
    }
  }
}

customElements.define('password-change-page', PasswordChangePage);
