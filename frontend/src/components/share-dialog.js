import { ContextConsumer } from '@lit/context';
import { css, html, LitElement } from 'lit';
import { formatDateTime, I18nController, t } from '../i18n/index.js';
import { copyText } from '../lib/clipboard.js';
import { graphqlContext } from '../lib/contexts.js';
import { emit, emitError, emitNotice } from '../lib/events.js';
import { deepActiveElement } from '../lib/focus.js';
import { icons } from '../lib/icons.js';
import { REVOKE_SHARE, SHARE_CONVERSATION, SHARES } from '../lib/operations.js';
import { shareLink } from '../lib/share-links.js';
import { dialogStyles, sharedStyles } from '../styles/shared.js';

/**
 * The share dialog of one conversation (a modal on the native <dialog>): its links, each
 * with when it was made, a copy button and a revoke button, and a button that makes a new
 * one (a snapshot of the conversation as it is now). Focus returns where it was on close.
 *
 *   <share-dialog .open=${true} .conversation=${{ id, title }} @close=${...}></share-dialog>
 *
 * @fires close - {}: Close or Escape
 * @fires notice - {message}: a link was copied, made or revoked
 * @fires api-error - {error}: a request failed
 */
export class ShareDialog extends LitElement {
  static properties = {
    open: { type: Boolean },
    conversation: { attribute: false },
    _shares: { state: true },
    _busy: { state: true },
  };

  static styles = [
    sharedStyles,
    dialogStyles,
    css`
      dialog {
        padding: 1.25rem;
        width: min(34rem, calc(100vw - 2rem));
      }
      h2 {
        margin: 0 0 0.5rem;
        font-size: 1.1rem;
        overflow-wrap: anywhere;
      }
      p {
        margin: 0 0 1rem;
        color: var(--fg-muted);
      }
      ul {
        list-style: none;
        margin: 0 0 1rem;
        padding: 0;
        display: flex;
        flex-direction: column;
        gap: 0.75rem;
      }
      li {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
      }
      input {
        flex: 1 1 14rem;
        min-width: 0;
        padding: 0.35rem 0.5rem;
        font-family: var(--mono);
        font-size: 0.85rem;
      }
      .made {
        flex-basis: 100%;
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
      button {
        display: inline-flex;
        align-items: center;
        gap: 0.3rem;
      }
      .buttons {
        display: flex;
        justify-content: flex-end;
        gap: 0.5rem;
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });
  #returnFocus = null;

  constructor() {
    super();
    this.open = false;
    this.conversation = null;
    this._shares = null;
    this._busy = false;
    new I18nController(this);
  }

  render() {
    const title = this.conversation?.title ?? '';
    return html`<dialog aria-labelledby="title" @cancel=${this.#onCancel}>
      <h2 id="title">${t('share.title', { title })}</h2>
      <p>${t('share.intro')}</p>
      ${this.#renderShares()}
      <div class="buttons">
        <button type="button" class="close" @click=${this.#onCancel}>${t('share.close')}</button>
        <button type="button" class="primary create" ?disabled=${this._busy} @click=${this.#create}>
          ${icons.plus}${this._busy ? t('share.creating') : t('share.create')}
        </button>
      </div>
    </dialog>`;
  }

  #renderShares() {
    if (this._shares === null) return html`<p role="status">${t('share.loading')}</p>`;
    if (this._shares.length === 0) return html`<p class="none">${t('share.none')}</p>`;
    return html`<ul aria-label=${t('share.links')}>
      ${this._shares.map((share) => {
        const time = formatDateTime(share.createdAt);
        const link = shareLink(share.url);
        return html`<li>
          <input
            readonly
            .value=${link}
            aria-label=${t('share.linkLabel', { time })}
            @focus=${(event) => event.target.select()}
          />
          <button type="button" class="copy" @click=${() => this.#copy(link)}>
            ${icons.copy}${t('share.copy')}
          </button>
          <button
            type="button"
            class="danger revoke"
            aria-label=${t('share.revokeItem', { time })}
            @click=${() => this.#revoke(share)}
          >
            ${t('share.revoke')}
          </button>
          <span class="made">${t('share.made', { time, count: share.postCount })}</span>
        </li>`;
      })}
    </ul>`;
  }

  updated(changed) {
    if (!changed.has('open')) return;
    const dialog = this.renderRoot.querySelector('dialog');
    if (this.open && !dialog.open) {
      this.#returnFocus = deepActiveElement();
      dialog.showModal();
      dialog.querySelector('.create').focus();
      this.#load();
    } else if (!this.open && dialog.open) {
      dialog.close();
      this.#returnFocus?.focus?.();
    }
  }

  async #load() {
    this._shares = null;
    try {
      const { shares } = await this.#graphql.value.request(SHARES, {
        conversationId: this.conversation.id,
      });
      this._shares = shares;
    } catch (error) {
      this._shares = [];
      emitError(this, error);
    }
  }

  async #create() {
    this._busy = true;
    try {
      const { shareConversation } = await this.#graphql.value.request(SHARE_CONVERSATION, {
        id: this.conversation.id,
      });
      this._shares = [shareConversation, ...(this._shares ?? [])];
      await this.#copy(shareLink(shareConversation.url), t('share.createdCopied'));
    } catch (error) {
      emitError(this, error);
    } finally {
      this._busy = false;
    }
  }

  async #copy(link, message = t('share.copied')) {
    try {
      await copyText(link);
      emitNotice(this, message);
    } catch {
      emitNotice(this, t('share.copyFailed'));
    }
  }

  async #revoke(share) {
    try {
      await this.#graphql.value.request(REVOKE_SHARE, { id: share.id });
      this._shares = this._shares.filter((item) => item.id !== share.id);
      emitNotice(this, t('share.revoked'));
      await this.updateComplete;
      this.renderRoot.querySelector('.create')?.focus();
    } catch (error) {
      emitError(this, error);
    }
  }

  #onCancel(event) {
    event.preventDefault();
    emit(this, 'close');
  }
}

customElements.define('share-dialog', ShareDialog);
