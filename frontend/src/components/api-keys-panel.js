import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { formatDateTime, I18nController, t } from '../i18n/index.js';
import { API_KEYS, CREATE_API_KEY, REVOKE_API_KEY } from '../lib/api-key-operations.js';
import { copyText } from '../lib/clipboard.js';
import { graphqlContext } from '../lib/contexts.js';
import { emitError, emitNotice } from '../lib/events.js';
import { icons } from '../lib/icons.js';
import { dialogStyles, sharedStyles } from '../styles/shared.js';

/**
 * A dialog with the reader's API keys (for programs, and the OpenAI-compatible endpoint):
 * make one with a name (its key is shown once, with a copy button and a warning), see them
 * with when each was last used, revoke one.
 *
 *   <api-keys-panel></api-keys-panel>   ...   element.show();
 *
 * @fires notice - {message}: a key was copied, made or revoked
 * @fires api-error - {error}: a request failed
 */
export class ApiKeysPanel extends LitElement {
  static properties = {
    _keys: { state: true },
    _secret: { state: true },
    _busy: { state: true },
  };

  static styles = [
    sharedStyles,
    dialogStyles,
    css`
      dialog {
        width: min(34rem, calc(100vw - 1rem));
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
      .body {
        padding: 0.75rem;
        display: flex;
        flex-direction: column;
        gap: 0.75rem;
      }
      p {
        margin: 0;
        color: var(--fg-muted);
      }
      form,
      .secret,
      li {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
      }
      form input,
      .secret input {
        flex: 1 1 12rem;
        min-width: 0;
        padding: 0.35rem 0.5rem;
      }
      .secret input {
        font-family: var(--mono);
        font-size: 0.85rem;
      }
      .warning {
        display: flex;
        gap: 0.4rem;
        align-items: flex-start;
        color: var(--fg);
        flex-basis: 100%;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: flex;
        flex-direction: column;
        gap: 0.6rem;
      }
      .name {
        flex: 1 1 10rem;
        min-width: 0;
        overflow-wrap: anywhere;
        font-weight: 600;
      }
      .when {
        flex-basis: 100%;
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
      button {
        display: inline-flex;
        align-items: center;
        gap: 0.3rem;
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });

  constructor() {
    super();
    this._keys = null;
    this._secret = null;
    this._busy = false;
    new I18nController(this);
  }

  /** Open the dialog and load the keys afresh. */
  async show() {
    this._secret = null;
    await this.updateComplete;
    const dialog = this.renderRoot.querySelector('dialog');
    if (!dialog.open) dialog.showModal();
    this.renderRoot.querySelector('input[name="name"]').focus();
    this.#load();
  }

  render() {
    return html`<dialog aria-labelledby="api-keys-title" @close=${() => (this._secret = null)}>
      <header>
        <h2 id="api-keys-title">${t('apiKeys.title')}</h2>
        <button
          type="button"
          class="quiet icon close"
          aria-label=${t('apiKeys.close')}
          @click=${() => this.renderRoot.querySelector('dialog').close()}
        >
          ${icons.close}
        </button>
      </header>
      <div class="body">
        <p>${t('apiKeys.intro')}</p>
        <form @submit=${this.#create}>
          <label class="visually-hidden" for="key-name">${t('apiKeys.name')}</label>
          <input
            id="key-name"
            name="name"
            required
            maxlength="100"
            autocomplete="off"
            placeholder=${t('apiKeys.name')}
          />
          <button type="submit" class="primary create" ?disabled=${this._busy}>
            ${icons.plus}${t('apiKeys.create')}
          </button>
        </form>
        ${this.#renderSecret()} ${this.#renderKeys()}
      </div>
    </dialog>`;
  }

  #renderSecret() {
    if (!this._secret) return nothing;
    return html`<div class="secret">
      <p class="warning" role="alert">${icons.warning}${t('apiKeys.shownOnce')}</p>
      <input
        readonly
        .value=${this._secret}
        aria-label=${t('apiKeys.newKey')}
        @focus=${(event) => event.target.select()}
      />
      <button type="button" class="copy" @click=${this.#copy}>
        ${icons.copy}${t('apiKeys.copy')}
      </button>
    </div>`;
  }

  #renderKeys() {
    if (this._keys === null) return html`<p role="status">${t('apiKeys.loading')}</p>`;
    if (this._keys.length === 0) return html`<p class="none">${t('apiKeys.none')}</p>`;
    return html`<ul aria-label=${t('apiKeys.list')}>
      ${this._keys.map(
        (key) =>
          html`<li>
            <span class="name">${key.name}</span>
            <button
              type="button"
              class="danger revoke"
              aria-label=${t('apiKeys.revokeItem', { name: key.name })}
              @click=${() => this.#revoke(key)}
            >
              ${t('apiKeys.revoke')}
            </button>
            <span class="when">
              ${t('apiKeys.made', { time: formatDateTime(key.createdAt) })} ·
              ${
                key.lastUsedAt
                  ? t('apiKeys.lastUsed', { time: formatDateTime(key.lastUsedAt) })
                  : t('apiKeys.neverUsed')
              }
            </span>
          </li>`,
      )}
    </ul>`;
  }

  async #load() {
    this._keys = null;
    try {
      const { apiKeys } = await this.#graphql.value.request(API_KEYS);
      this._keys = apiKeys;
    } catch (error) {
      this._keys = [];
      emitError(this, error);
    }
  }

  #create = async (event) => {
    event.preventDefault();
    const input = event.target.elements.name;
    const name = input.value.trim();
    if (!name) return;
    this._busy = true;
    try {
      const { createApiKey } = await this.#graphql.value.request(CREATE_API_KEY, { name });
      this._secret = createApiKey.key;
      this._keys = [createApiKey.apiKey, ...(this._keys ?? [])];
      input.value = '';
      emitNotice(this, t('apiKeys.created'));
      await this.updateComplete;
      this.renderRoot.querySelector('.secret .copy')?.focus();
    } catch (error) {
      emitError(this, error);
    } finally {
      this._busy = false;
    }
  };

  #copy = async () => {
    try {
      await copyText(this._secret);
      emitNotice(this, t('apiKeys.copied'));
    } catch {
      emitNotice(this, t('apiKeys.copyFailed'));
    }
  };

  async #revoke(key) {
    try {
      await this.#graphql.value.request(REVOKE_API_KEY, { id: key.id });
      this._keys = this._keys.filter((other) => other.id !== key.id);
      emitNotice(this, t('apiKeys.revoked', { name: key.name }));
      this.renderRoot.querySelector('input[name="name"]')?.focus();
    } catch (error) {
      emitError(this, error);
    }
  }
}

customElements.define('api-keys-panel', ApiKeysPanel);
