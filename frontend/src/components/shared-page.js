import { css, html, LitElement, nothing } from 'lit';
import { formatDateTime, I18nController, t } from '../i18n/index.js';
import { asApiError } from '../lib/errors.js';
import { GraphQLClient } from '../lib/graphql.js';
import { CONTINUE_SHARED, SHARED_CONVERSATION } from '../lib/operations.js';
import { loadSession } from '../lib/session.js';
import { conversationHash } from '../lib/routes.js';
import { rememberPendingContinue, shareTokenFromPath } from '../lib/share-links.js';
import { sharedStyles } from '../styles/shared.js';
import './markdown-view.js';
import './toast-stack.js';

/**
 * The page a share link opens (`/s/<token>`): a read-only copy of a conversation, with a
 * header saying so. Anyone can read it; a signed-in reader can copy it into their own
 * account to continue it. Answers are rendered and sanitized as in the chat (markdown-view).
 *
 *   <shared-page></shared-page>        (the token comes from the page's path)
 */
export class SharedPage extends LitElement {
  static properties = {
    _shared: { state: true },
    _state: { state: true },
    _continuing: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        min-height: 100%;
      }
      .banner {
        position: sticky;
        top: 0;
        z-index: 5;
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 1rem;
        padding: 0.6rem 1rem;
        background: var(--bg-soft);
        border-bottom: 1px solid var(--border);
      }
      .banner p {
        flex: 1 1 16rem;
        margin: 0;
      }
      .banner a,
      .banner button {
        white-space: nowrap;
      }
      main {
        max-width: 48rem;
        margin: 0 auto;
        padding: 1rem;
      }
      h1 {
        font-size: 1.4rem;
        margin: 0.5rem 0 0.25rem;
        overflow-wrap: anywhere;
      }
      .started {
        color: var(--fg-muted);
        margin: 0 0 1.5rem;
      }
      article {
        margin-bottom: 1.5rem;
      }
      .prompt {
        margin-left: auto;
        max-width: 85%;
        width: fit-content;
        padding: 0.6rem 0.9rem;
        border-radius: var(--radius);
        background: var(--bg-soft);
        white-space: pre-wrap;
        overflow-wrap: anywhere;
      }
      .answer {
        margin-top: 0.75rem;
      }
      .meta {
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
      .message {
        text-align: center;
        margin-top: 18vh;
        color: var(--fg-muted);
      }
    `,
  ];

  #token = shareTokenFromPath(window.location.pathname);
  #graphql = new GraphQLClient({ token: () => loadSession()?.token ?? null });

  constructor() {
    super();
    this._shared = null;
    this._state = 'loading';
    this._continuing = false;
    new I18nController(this);
    this.addEventListener('notice', (event) => this.#toasts()?.show(event.detail.message));
  }

  #toasts() {
    return this.renderRoot.querySelector('toast-stack');
  }

  connectedCallback() {
    super.connectedCallback();
    this.#load();
  }

  render() {
    return html`
      <header class="banner">
        <p>
          ${
            this._shared
              ? t('shared.banner', { time: formatDateTime(this._shared.sharedAt) })
              : t('shared.bannerPlain')
          }
        </p>
        ${this.#renderContinue()}
      </header>
      <main>${this.#renderBody()}</main>
      <toast-stack></toast-stack>
    `;
  }

  #renderContinue() {
    if (!this._shared) return nothing;
    if (!loadSession()) {
      return html`<a href="/" @click=${() => rememberPendingContinue(this.#token)}
        >${t('shared.signIn')}</a
      >`;
    }
    return html`<button
      type="button"
      class="primary continue"
      ?disabled=${this._continuing}
      @click=${this.#continue}
    >
      ${this._continuing ? t('shared.continuing') : t('shared.continue')}
    </button>`;
  }

  #renderBody() {
    if (this._state === 'loading') {
      return html`<p class="message" role="status">${t('shared.loading')}</p>`;
    }
    if (this._state !== 'ready') {
      return html`<div class="message">
        <h1>${t(this._state === 'missing' ? 'shared.notFound' : `error.${this._state}`)}</h1>
        <p><a href="/">${t('shared.openApp')}</a></p>
      </div>`;
    }
    const shared = this._shared;
    return html`
      <h1>${shared.title}</h1>
      <p class="started">${t('shared.started', { time: formatDateTime(shared.createdAt) })}</p>
      ${shared.posts.map(
        (post) =>
          html`<article aria-label=${t('post.label', { time: formatDateTime(post.createdAt) })}>
            <div class="prompt">
              <span class="visually-hidden">${t('post.you')}: </span>${post.prompt}
            </div>
            <div class="answer">
              <span class="visually-hidden">${t('post.assistant')}: </span>
              <markdown-view .source=${post.body}></markdown-view>
              ${post.model ? html`<span class="meta">${post.model}</span>` : nothing}
            </div>
          </article>`,
      )}
    `;
  }

  async #load() {
    if (!this.#token) {
      this._state = 'missing';
      return;
    }
    try {
      const { sharedConversation } = await this.#graphql.request(SHARED_CONVERSATION, {
        token: this.#token,
      });
      this._shared = sharedConversation;
      this._state = sharedConversation ? 'ready' : 'missing';
      if (sharedConversation) document.title = sharedConversation.title;
    } catch (error) {
      this._state = asApiError(error).code;
    }
  }

  async #continue() {
    this._continuing = true;
    try {
      const { continueSharedConversation } = await this.#graphql.request(CONTINUE_SHARED, {
        token: this.#token,
      });
      window.location.assign(`/${conversationHash(continueSharedConversation.id)}`);
    } catch (error) {
      this._continuing = false;
      const apiError = asApiError(error);
      this.#toasts()?.show(t(`error.${apiError.code}`), { kind: 'error' });
    }
  }
}

customElements.define('shared-page', SharedPage);
