import { ContextConsumer } from '@lit/context';
import { css, html, LitElement } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { serverInfoContext, sessionContext } from '../lib/contexts.js';
import { loadDraft, saveDraft } from '../lib/drafts.js';
import { emit } from '../lib/events.js';
import { icons } from '../lib/icons.js';
import { sharedStyles } from '../styles/shared.js';

// A touch screen without a mouse or trackpad (a phone, a tablet).
const TOUCH = window.matchMedia('(hover: none) and (pointer: coarse)');

/**
 * The prompt box: grows with its text, Enter sends, Shift+Enter adds a line, and the draft
 * is kept per user (the session's) and conversation (sessionStorage) until the server
 * accepts the prompt. The server's prompt length limit is checked as one types.
 *
 *   <prompt-composer .conversationId=${cid} ?sending=${s} ?streaming=${busy} ?canStop=${true}
 *                    @send=${onSend} @stop=${onStop}></prompt-composer>
 *
 * `sending` disables it (the prompt is on its way); `streaming` swaps Send for Stop but
 * leaves the text box usable. Call `clear()` once the prompt is accepted.
 *
 * @fires send - {prompt}: Enter or Send with a prompt that may be sent (trimmed)
 * @fires stop - {}: Stop was pressed while an answer is written
 */
export class PromptComposer extends LitElement {
  static properties = {
    conversationId: { type: String },
    sending: { type: Boolean },
    streaming: { type: Boolean },
    canStop: { type: Boolean },
    _userId: { state: true },
    _text: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
      }
      form {
        display: flex;
        align-items: flex-end;
        gap: 0.5rem;
        border: 1px solid var(--border);
        border-radius: var(--radius);
        background: var(--bg-raised);
        padding: 0.4rem;
      }
      form:focus-within {
        border-color: var(--accent);
      }
      textarea {
        flex: 1;
        resize: none;
        border: none;
        background: transparent;
        min-height: 2.5rem;
        max-height: 40vh;
        overflow-y: auto;
        padding: 0.5rem;
        line-height: 1.4;
      }
      textarea:focus-visible {
        outline: none;
      }
      form:has(textarea:focus-visible) {
        outline: 3px solid var(--focus);
        outline-offset: 2px;
      }
      button {
        display: inline-flex;
        align-items: center;
        gap: 0.35rem;
        min-height: 2.5rem;
      }
      .hint {
        margin: 0.3rem 0.25rem 0;
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
      .counter.over {
        color: var(--danger);
      }
    `,
  ];

  #serverInfo = new ContextConsumer(this, { context: serverInfoContext, subscribe: true });

  constructor() {
    super();
    this._userId = '';
    new ContextConsumer(this, {
      context: sessionContext,
      subscribe: true,
      callback: (session) => (this._userId = session?.user.id ?? ''),
    });
    this.conversationId = null;
    this.sending = false;
    this.streaming = false;
    this.canStop = false;
    this._text = '';
    new I18nController(this);
  }

  willUpdate(changed) {
    if (changed.has('_userId') || changed.has('conversationId')) {
      this._text = loadDraft(this._userId, this.conversationId);
    }
  }

  updated(changed) {
    if (changed.has('_text')) this.#fitHeight();
    if (changed.has('sending') && changed.get('sending') && !this.sending) this.focus();
  }

  get #maxLength() {
    return this.#serverInfo.value?.maxPromptLength ?? 0;
  }

  /** Forget the text: the server has accepted it. */
  clear() {
    this._text = '';
    saveDraft(this._userId, this.conversationId, '');
  }

  focus() {
    this.renderRoot.querySelector('textarea')?.focus();
  }

  /** Put `text` in the box (a starter suggestion), to be edited or sent, the focus at its end. */
  async setText(text) {
    this._text = text;
    saveDraft(this._userId, this.conversationId, text);
    await this.updateComplete;
    const area = this.renderRoot.querySelector('textarea');
    area?.focus();
    area?.setSelectionRange(text.length, text.length);
  }

  render() {
    const over = this.#maxLength > 0 && this._text.length > this.#maxLength;
    return html`
      <form @submit=${this.#onSubmit}>
        <label class="visually-hidden" for="prompt">${t('composer.label')}</label>
        <textarea
          id="prompt"
          rows="1"
          .value=${this._text}
          ?disabled=${this.sending}
          placeholder=${t('composer.placeholder')}
          aria-describedby="hint"
          aria-invalid=${over ? 'true' : 'false'}
          @input=${this.#onInput}
          @keydown=${this.#onKeyDown}
        ></textarea>
        ${
          this.streaming
            ? html`<button
                type="button"
                class="danger"
                ?disabled=${!this.canStop}
                @click=${this.#stop}
              >
                ${icons.stop}${t('composer.stop')}
              </button>`
            : html`<button
                type="submit"
                class="primary"
                ?disabled=${this.sending || !this._text.trim() || over}
              >
                ${icons.send}${t('composer.send')}
              </button>`
        }
      </form>
      <p class="hint" id="hint">
        ${this.streaming ? t('composer.hintStreaming') : TOUCH.matches ? '' : t('composer.hint')}
        ${
          over
            ? html`<span class="counter over"
                >${t('composer.tooLong', { max: this.#maxLength })}</span
              >`
            : ''
        }
      </p>
    `;
  }

  #fitHeight() {
    const area = this.renderRoot.querySelector('textarea');
    if (!area) return;
    area.style.height = 'auto';
    area.style.height = `${area.scrollHeight}px`;
  }

  #onInput(event) {
    this._text = event.target.value;
    saveDraft(this._userId, this.conversationId, this._text);
  }

  #onKeyDown(event) {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    // On a touch screen Enter makes a new line, as on-screen keyboards show; Send sends.
    if (TOUCH.matches) return;
    event.preventDefault();
    this.#send();
  }

  #onSubmit(event) {
    event.preventDefault();
    this.#send();
  }

  #send() {
    const prompt = this._text.trim();
    const over = this.#maxLength > 0 && this._text.length > this.#maxLength;
    if (!prompt || over || this.sending || this.streaming) return;
    emit(this, 'send', { prompt });
  }

  #stop() {
    emit(this, 'stop');
  }
}

customElements.define('prompt-composer', PromptComposer);
