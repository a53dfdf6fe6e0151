import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { I18nController, formatDateTime, formatNumber, formatTime, t } from '../i18n/index.js';
import { readAnswer } from '../lib/answer-stream.js';
import { copyText } from '../lib/clipboard.js';
import { modelsContext, sessionContext, subscriptionsContext } from '../lib/contexts.js';
import { loadEditDraft, saveEditDraft } from '../lib/drafts.js';
import { emit, emitError, emitNotice } from '../lib/events.js';
import { icons } from '../lib/icons.js';
import { isLive } from '../lib/posts.js';
import { answeredAt, detailLines } from '../lib/post-details.js';
import { modelLabel, otherModels } from '../lib/models.js';
import { versionAt, versionsOf } from '../lib/versions.js';
import { sharedStyles } from '../styles/shared.js';
import { COPIED_MS } from './markdown-view.js';
import './version-switcher.js';

/** `params` with its numbers written the reader's way ("2,3" in Portuguese). */
function localNumbers(params) {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [name, formatNumber(value) || value]),
  );
}

/**
 * One exchange: the user's prompt and the model's answer, with its status and actions.
 *
 *   <post-item .post=${post} ?busy=${false}></post-item>
 *
 * The prompt can be edited in place (Enter or Send sends the edit, Escape cancels; the
 * draft is kept in sessionStorage until it is sent or cancelled, so a reload reopens it).
 * A post with versions shows "< 2 / 3 >" to flip between them, and on a wide screen can
 * show another version's answer beside its own. Unless `busy` (a prompt or an answer in
 * flight), the answer can be regenerated, with its model or with another (the models
 * context). `highlighted` outlines the prompt (a search hit). `updateComplete` also waits
 * for the answer's Markdown to render. While two versions are side by side it has the
 * `comparing` attribute (its list may give it more room).
 *
 * @fires regenerate - {post, model}: Regenerate (or Retry) was pressed; model is null, or
 *   the one chosen under "Regenerate with…"
 * @fires continue-answer - {post}: Continue was pressed under an answer the length limit cut off
 * @fires edit-prompt - {post, prompt}: an edited prompt was sent (trimmed, changed or not)
 * @fires switch-version - {post, postId}: the version postId of this post should be shown
 * @fires notice - {message}: the answer was copied (or copying failed)
 * @fires api-error - {error}: another version's answer could not be read
 */
export class PostItem extends LitElement {
  static properties = {
    post: { attribute: false },
    busy: { type: Boolean },
    highlighted: { type: Boolean, reflect: true },
    _userId: { state: true },
    _editing: { state: true },
    _editText: { state: true },
    _choosingModel: { state: true },
    _compared: { state: true },
    _copied: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        scroll-margin: 1rem;
      }
      :host([highlighted]) .prompt {
        outline: 3px solid transparent;
        animation: search-hit 4s ease-out;
      }
      @keyframes search-hit {
        from,
        50% {
          outline-color: var(--accent);
        }
        to {
          outline-color: transparent;
        }
      }
      @media (prefers-reduced-motion: reduce) {
        :host([highlighted]) .prompt {
          animation-timing-function: steps(1, end);
        }
      }
      article {
        display: flex;
        flex-direction: column;
        gap: 0.75rem;
        padding: 0.75rem 0;
      }
      .question {
        display: flex;
        flex-direction: column;
        align-items: flex-end;
        gap: 0.2rem;
      }
      .prompt {
        max-width: min(85%, 42rem);
        background: var(--accent-soft);
        border-radius: var(--radius) var(--radius) 2px var(--radius);
        padding: 0.6rem 0.9rem;
        overflow-wrap: anywhere;
      }
      .prompt-text {
        white-space: pre-wrap;
      }
      .prompt-actions {
        display: flex;
        align-items: center;
        gap: 0.25rem;
        font-size: 0.85rem;
        color: var(--fg-muted);
      }
      .edit {
        width: min(100%, 42rem);
        display: flex;
        flex-direction: column;
        gap: 0.4rem;
      }
      .edit textarea {
        min-height: 4.5rem;
        resize: vertical;
        line-height: 1.4;
      }
      .edit-actions {
        display: flex;
        justify-content: flex-end;
        gap: 0.4rem;
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
      .status.cancelled,
      .status.cut-off {
        background: var(--warning-soft);
        color: var(--warning);
      }
      .status.cut-off {
        flex-wrap: wrap;
      }
      .status .continue {
        margin-inline-start: auto;
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
      .actions button,
      .prompt-actions button,
      .other > button {
        display: inline-flex;
        align-items: center;
        gap: 0.3rem;
        font-size: 0.85rem;
      }
      .models {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        margin: 0.3rem 0 0;
        padding: 0;
        list-style: none;
      }
      .meta {
        margin-left: auto;
      }
      .details {
        position: relative;
      }
      .details button,
      .prompt-actions time {
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
      .details button {
        min-height: 2rem;
        padding: 0.2rem 0.4rem;
      }
      .tip {
        display: none;
        position: absolute;
        right: 0;
        bottom: calc(100% + 4px);
        z-index: 2;
        margin: 0;
        padding: 0.4rem 0.6rem;
        list-style: none;
        white-space: nowrap;
        border: 1px solid var(--border);
        border-radius: 8px;
        background: var(--bg-raised);
        color: var(--fg);
        box-shadow: 0 2px 8px rgb(0 0 0 / 15%);
      }
      .details:hover .tip,
      .details:focus-within .tip {
        display: block;
      }
      .progress {
        display: inline-flex;
        align-items: center;
        gap: 0.4rem;
        margin: 0.25rem 0 0;
        font-size: 0.85rem;
        color: var(--fg-muted);
      }
      .progress::before {
        content: '';
        width: 0.5rem;
        height: 0.5rem;
        border-radius: 50%;
        background: var(--accent);
        animation: pulse 1s ease-in-out infinite alternate;
      }
      @keyframes pulse {
        from {
          opacity: 0.25;
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .progress::before {
          animation: none;
        }
      }
      .actions .compare-button {
        display: none;
      }
      .columns {
        display: grid;
        grid-template-columns: 1fr;
        gap: 1rem;
      }
      .column-title {
        margin: 0 0 0.4rem;
        font-size: 0.85rem;
        font-weight: 600;
        color: var(--fg-muted);
      }
      .other {
        border-left: 3px solid var(--border);
        padding-left: 0.75rem;
      }
      .other-prompt {
        margin: 0 0 0.4rem;
        font-style: italic;
      }
      @media (min-width: 1024px) {
        .actions .compare-button {
          display: inline-flex;
        }
        .columns.comparing {
          grid-template-columns: 1fr 1fr;
        }
      }
    `,
  ];

  #models = new ContextConsumer(this, { context: modelsContext, subscribe: true });
  #subscriptions = new ContextConsumer(this, { context: subscriptionsContext });

  constructor() {
    super();
    this.busy = false;
    this.highlighted = false;
    this._userId = '';
    this._editing = false;
    this._editText = '';
    this._choosingModel = false;
    this._compared = null;
    new ContextConsumer(this, {
      context: sessionContext,
      subscribe: true,
      callback: (session) => (this._userId = session?.user.id ?? ''),
    });
    new I18nController(this);
  }

  willUpdate(changed) {
    const before = changed.get('post');
    // Not a new text of the same post (as its answer streams): another post, or version.
    const anotherPost = changed.has('post') && before?.id !== this.post.id;
    if (anotherPost && before) {
      // Another version is shown here now: an edit that made it has been sent.
      if (this._editing) saveEditDraft(this._userId, before.id, '');
      this._editing = false;
      this._choosingModel = false;
      this._compared = null;
    }
    if ((anotherPost || changed.has('_userId')) && this._userId && this.post.id) {
      const draft = loadEditDraft(this._userId, this.post.id);
      if (draft) Object.assign(this, { _editing: true, _editText: draft });
    }
  }

  updated(changed) {
    if (changed.has('_compared')) this.toggleAttribute('comparing', Boolean(this._compared));
  }

  async getUpdateComplete() {
    const done = await super.getUpdateComplete();
    await Promise.all(
      [...this.renderRoot.querySelectorAll('markdown-view')].map((view) => view.updateComplete),
    );
    return done;
  }

  render() {
    const { post } = this;
    const live = isLive(post);
    const compared = this._compared;
    return html`
      <article aria-label=${t('post.label', { time: formatDateTime(post.createdAt) })}>
        <div class="question">
          ${this._editing ? this.#renderEditor() : this.#renderPrompt(post, live)}
        </div>
        <div class="columns ${compared ? 'comparing' : ''}">
          <div class="answer" aria-busy=${live ? 'true' : 'false'}>
            ${compared ? this.#renderColumnTitle(post) : nothing}
            <span class="visually-hidden">${t('post.assistant')}: </span>
            <markdown-view .source=${post.body ?? ''} ?streaming=${live}></markdown-view>
            ${live ? this.#renderProgress(post) : nothing} ${this.#renderStatus(post)}
            ${live ? nothing : this.#renderActions(post)}
          </div>
          ${compared ? this.#renderCompared(compared) : nothing}
        </div>
      </article>
    `;
  }

  #renderPrompt(post, live) {
    const versions = versionsOf(post);
    return html`<div class="prompt">
        <span class="visually-hidden">${t('post.you')}: </span
        ><span class="prompt-text">${post.prompt}</span>
      </div>
      <div class="prompt-actions">
        <button
          type="button"
          class="quiet icon copy-prompt"
          aria-label=${this._copied === 'prompt' ? t('markdown.copiedShort') : t('post.copyPrompt')}
          title=${t('post.copyPrompt')}
          @click=${this.#copyPrompt}
        >
          ${this._copied === 'prompt' ? icons.check : icons.copy}
        </button>
        ${
          post.createdAt
            ? html`<time datetime=${post.createdAt} title=${formatDateTime(post.createdAt)}
                >${formatTime(post.createdAt)}</time
              >`
            : nothing
        }
        ${
          versions
            ? html`<version-switcher
                .index=${versions.index}
                .count=${versions.count}
                ?disabled=${this.busy}
                @version-step=${this.#step}
              ></version-switcher>`
            : nothing
        }
        ${
          live || !post.id
            ? nothing
            : html`<button
                type="button"
                class="quiet edit-button"
                aria-label=${t('post.editPrompt')}
                ?disabled=${this.busy}
                @click=${this.#startEdit}
              >
                ${icons.pencil}${t('post.edit')}
              </button>`
        }
      </div>`;
  }

  #renderEditor() {
    const empty = !this._editText.trim();
    return html`<form class="edit" @submit=${this.#sendEdit}>
      <label class="visually-hidden" for="edit">${t('post.editLabel')}</label>
      <textarea
        id="edit"
        .value=${this._editText}
        aria-describedby="edit-hint"
        @input=${this.#onEditInput}
        @keydown=${this.#onEditKeyDown}
      ></textarea>
      <span class="visually-hidden" id="edit-hint">${t('post.editHint')}</span>
      <div class="edit-actions">
        <button type="button" @click=${this.#cancelEdit}>${t('dialog.cancel')}</button>
        <button type="submit" class="primary" ?disabled=${this.busy || empty}>
          ${icons.send}${t('composer.send')}
        </button>
      </div>
    </form>`;
  }

  #renderColumnTitle(post) {
    const index = post.siblingIds.indexOf(post.id);
    const place = t('versions.place', { index: index + 1, count: post.siblingIds.length });
    return html`<p class="column-title">${place}${post.model ? ` · ${post.model}` : ''}</p>`;
  }

  #renderCompared(other) {
    const versions = this.post.siblingIds;
    return html`<section class="other" aria-label=${t('versions.compared')}>
      <p class="column-title">
        <label for="compare-with">${t('versions.compareWith')}</label>
        <select id="compare-with" @change=${(event) => this.#compare(event.target.value)}>
          ${versions.map((id, index) =>
            id === this.post.id
              ? nothing
              : html`<option value=${id} ?selected=${id === other.id}>
                  ${t('versions.place', { index: index + 1, count: versions.length })}
                </option>`,
          )}
        </select>
        ${other.model ? ` · ${other.model}` : ''}
      </p>
      ${
        other.prompt !== this.post.prompt
          ? html`<p class="other-prompt">
              <span class="visually-hidden">${t('post.you')}: </span
              ><span class="prompt-text">${other.prompt}</span>
            </p>`
          : nothing
      }
      <markdown-view .source=${other.body ?? ''}></markdown-view>
      <button type="button" class="quiet" @click=${() => (this._compared = null)}>
        ${icons.close}${t('versions.closeCompare')}
      </button>
    </section>`;
  }

  /** While the answer is written: waiting for the model (queued, no text yet), or writing. */
  #renderProgress(post) {
    const waiting = !post.body;
    return html`<p class="progress ${waiting ? 'waiting' : 'writing'}" role="status">
      ${waiting ? t('post.waiting') : t('post.writing')}
    </p>`;
  }

  /** The answer's time; on hover or focus its model, tokens and seconds. */
  #renderDetails(post) {
    const at = answeredAt(post) ?? post.createdAt;
    const lines = detailLines(post);
    const tipId = `details-${post.id}`;
    return html`<span class="details">
      <button
        type="button"
        class="quiet details-button"
        aria-label=${t('post.details.label', { time: formatDateTime(at) })}
        aria-describedby=${lines.length ? tipId : nothing}
      >
        <time datetime=${at}>${formatTime(at)}</time>
      </button>
      ${
        lines.length
          ? html`<ul class="tip" role="tooltip" id=${tipId}>
              ${lines.map(([key, params]) => html`<li>${t(key, localNumbers(params))}</li>`)}
            </ul>`
          : nothing
      }
    </span>`;
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
    if (post.status === 'COMPLETE' && post.finishReason === 'length') {
      return html`<p class="status cut-off" role="note">
        ${icons.warning}<span><strong>${t('post.cutOff')}</strong> ${t('post.cutOffHint')}</span>
        ${
          post.id
            ? html`<button
                type="button"
                class="continue"
                ?disabled=${this.busy}
                @click=${() => emit(this, 'continue-answer', { post: this.post })}
              >
                ${t('post.continue')}
              </button>`
            : nothing
        }
      </p>`;
    }
    return nothing;
  }

  #renderActions(post) {
    const canRetry = post.status === 'FAILED' || post.status === 'CANCELLED';
    const others = otherModels(this.#models.value ?? [], post);
    return html`<div class="actions">
        ${
          post.body
            ? html`<button type="button" class="quiet copy-answer" @click=${this.#copy}>
                ${this._copied === 'answer' ? icons.check : icons.copy}${
                  this._copied === 'answer' ? t('markdown.copiedShort') : t('post.copy')
                }
              </button>`
            : nothing
        }
        ${
          post.id
            ? html`<button
                type="button"
                class="quiet"
                ?disabled=${this.busy}
                @click=${() => this.#regenerate(null)}
              >
                ${icons.refresh}${canRetry ? t('post.retry') : t('post.regenerate')}
              </button>`
            : nothing
        }
        ${
          post.id && others.length
            ? html`<button
                type="button"
                class="quiet"
                aria-expanded=${this._choosingModel ? 'true' : 'false'}
                aria-controls="models"
                ?disabled=${this.busy}
                @click=${() => (this._choosingModel = !this._choosingModel)}
              >
                ${t('post.regenerateWith')}
              </button>`
            : nothing
        }
        ${
          versionsOf(post) && !this._compared
            ? html`<button
                type="button"
                class="quiet compare-button"
                @click=${() => this.#compare(versionAt(post, -1) ?? versionAt(post, 1))}
              >
                ${t('versions.compare')}
              </button>`
            : nothing
        }
        ${post.model ? html`<span class="meta">${post.model}</span>` : nothing}
        ${post.id ? this.#renderDetails(post) : nothing}
      </div>
      ${this._choosingModel && !this.busy ? this.#renderModels(others) : nothing}`;
  }

  #renderModels(others) {
    return html`<ul
      class="models"
      id="models"
      aria-label=${t('post.regenerateWith')}
      @keydown=${this.#onModelsKeyDown}
    >
      ${others.map(
        (model) =>
          html`<li>
            <button
              type="button"
              ?disabled=${!model.available}
              @click=${() => this.#regenerate(model.id)}
            >
              ${modelLabel(model)}
            </button>
          </li>`,
      )}
    </ul>`;
  }

  // Editing ---------------------------------------------------------------------------------

  async #startEdit() {
    this._editText = this.post.prompt;
    this._editing = true;
    await this.updateComplete;
    const area = this.renderRoot.querySelector('#edit');
    area?.focus();
    area?.setSelectionRange(area.value.length, area.value.length);
  }

  #onEditInput(event) {
    this._editText = event.target.value;
    saveEditDraft(this._userId, this.post.id, this._editText);
  }

  #onEditKeyDown(event) {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.#cancelEdit();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      this.#sendEdit(event);
    }
  }

  async #cancelEdit() {
    saveEditDraft(this._userId, this.post.id, '');
    this._editing = false;
    await this.updateComplete;
    this.renderRoot.querySelector('.edit-button')?.focus();
  }

  #sendEdit(event) {
    event.preventDefault();
    const prompt = this._editText.trim();
    if (!prompt || this.busy) return;
    emit(this, 'edit-prompt', { post: this.post, prompt });
  }

  // Versions --------------------------------------------------------------------------------

  #step(event) {
    const postId = versionAt(this.post, event.detail.step);
    if (postId && !this.busy) emit(this, 'switch-version', { post: this.post, postId });
  }

  async #compare(postId) {
    try {
      this._compared = await readAnswer(this.#subscriptions.value, postId);
    } catch (error) {
      emitError(this, error);
    }
  }

  // Answer actions --------------------------------------------------------------------------

  #onModelsKeyDown(event) {
    if (event.key !== 'Escape') return;
    this._choosingModel = false;
    this.renderRoot.querySelector('[aria-controls="models"]')?.focus();
  }

  async #copy() {
    await this.#copyOut('answer', this.post.body, t('post.copied'));
  }

  async #copyPrompt() {
    await this.#copyOut('prompt', this.post.prompt, t('post.promptCopied'));
  }

  /** Copy `text`; the button says "Copied" for a moment, and a notice says what was. */
  async #copyOut(which, text, notice) {
    try {
      await copyText(text);
      emitNotice(this, notice);
      this._copied = which;
      clearTimeout(this._copiedTimer);
      this._copiedTimer = setTimeout(() => (this._copied = null), COPIED_MS);
    } catch {
      emitNotice(this, t('markdown.copyFailed'));
    }
  }

  #regenerate(model) {
    this._choosingModel = false;
    emit(this, 'regenerate', { post: this.post, model });
  }
}

customElements.define('post-item', PostItem);
