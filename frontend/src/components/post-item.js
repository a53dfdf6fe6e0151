import { css, html, LitElement, nothing } from 'lit';
import { I18nController, formatDateTime, t } from '../i18n/index.js';
import { copyText } from '../lib/clipboard.js';
import { emit, emitNotice } from '../lib/events.js';
import { icons } from '../lib/icons.js';
import { sharedStyles } from '../styles/shared.js';
import { isLive } from '../lib/posts.js';
import './markdown-view.js';

/**
 * One exchange: the user's prompt and the model's answer, with its status and actions.
 *
 *   <post-item .post=${post} ?last=${true} ?busy=${false}></post-item>
 *
 * `last` offers regenerate (or retry, for a failed or stopped answer) unless `busy`;
 * `highlighted` outlines the prompt (a search hit). `updateComplete` also waits for the
 * answer's Markdown to render.
 *
 * @fires regenerate - {post}: Regenerate (or Retry) was pressed on this post
 * @fires notice - {message}: the answer was copied (or copying failed)
 */
export class PostItem extends LitElement {
  static properties = {
    post: { attribute: false },
    last: { type: Boolean },
    busy: { type: Boolean },
    highlighted: { type: Boolean, reflect: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        scroll-margin: 1rem;
      }
      :host([highlighted]) .prompt {
        outline: 3px solid var(--accent);
      }
      article {
        display: flex;
        flex-direction: column;
        gap: 0.75rem;
        padding: 0.75rem 0;
      }
      .prompt {
        align-self: flex-end;
        max-width: min(85%, 42rem);
        background: var(--accent-soft);
        border-radius: var(--radius) var(--radius) 2px var(--radius);
        padding: 0.6rem 0.9rem;
        white-space: pre-wrap;
        overflow-wrap: anywhere;
      }
      .answer {
        max-width: 100%;
      }
      .writing {
        color: var(--fg-muted);
        font-style: italic;
      }
      .status {
        display: flex;
        align-items: center;
        gap: 0.4rem;
        margin-top: 0.5rem;
        padding: 0.4rem 0.6rem;
        border-radius: 8px;
        font-size: 0.9rem;
      }
      .status.failed {
        background: var(--danger-soft);
        color: var(--danger);
      }
      .status.cancelled {
        background: var(--warning-soft);
        color: var(--warning);
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.25rem;
        margin-top: 0.4rem;
        font-size: 0.85rem;
        color: var(--fg-muted);
      }
      .actions button {
        display: inline-flex;
        align-items: center;
        gap: 0.3rem;
        font-size: 0.85rem;
      }
      .meta {
        margin-left: auto;
      }
    `,
  ];

  constructor() {
    super();
    this.last = false;
    this.busy = false;
    this.highlighted = false;
    new I18nController(this);
  }

  async getUpdateComplete() {
    const done = await super.getUpdateComplete();
    await this.renderRoot.querySelector('markdown-view')?.updateComplete;
    return done;
  }

  render() {
    const { post } = this;
    const live = isLive(post);
    return html`
      <article aria-label=${t('post.label', { time: formatDateTime(post.createdAt) })}>
        <div class="prompt">
          <span class="visually-hidden">${t('post.you')}: </span>${post.prompt}
        </div>
        <div class="answer" aria-busy=${live ? 'true' : 'false'}>
          <span class="visually-hidden">${t('post.assistant')}: </span>
          <markdown-view .source=${post.body ?? ''} ?streaming=${live}></markdown-view>
          ${live && !post.body ? html`<p class="writing">${t('post.writing')}</p>` : nothing}
          ${this.#renderStatus(post)} ${live ? nothing : this.#renderActions(post)}
        </div>
      </article>
    `;
  }

  #renderStatus(post) {
    if (post.status === 'FAILED') {
      return html`<p class="status failed" role="note">
        ${icons.warning}<span
          ><strong>${t('post.failed')}</strong>${post.error ? html` ${post.error}` : nothing}</span
        >
      </p>`;
    }
    if (post.status === 'CANCELLED') {
      return html`<p class="status cancelled" role="note">
        ${icons.stopped}<strong>${t('post.stopped')}</strong>
      </p>`;
    }
    return nothing;
  }

  #renderActions(post) {
    const canRetry = post.status === 'FAILED' || post.status === 'CANCELLED';
    return html`<div class="actions">
      ${
        post.body
          ? html`<button type="button" class="quiet" @click=${this.#copy}>
              ${icons.copy}${t('post.copy')}
            </button>`
          : nothing
      }
      ${
        this.last
          ? html`<button
              type="button"
              class="quiet"
              ?disabled=${this.busy}
              @click=${this.#regenerate}
            >
              ${icons.refresh}${canRetry ? t('post.retry') : t('post.regenerate')}
            </button>`
          : nothing
      }
      ${post.model ? html`<span class="meta">${post.model}</span>` : nothing}
    </div>`;
  }

  async #copy() {
    try {
      await copyText(this.post.body);
      emitNotice(this, t('post.copied'));
    } catch {
      emitNotice(this, t('markdown.copyFailed'));
    }
  }

  #regenerate() {
    emit(this, 'regenerate', { post: this.post });
  }
}

customElements.define('post-item', PostItem);
