import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { openConversationContext, sessionContext } from '../lib/contexts.js';
import { asApiError } from '../lib/errors.js';
import { emit, emitError, emitNotice } from '../lib/events.js';
import { deepActiveElement } from '../lib/focus.js';
import { downloadExport, uploadImport } from '../lib/transfer.js';
import { dialogStyles, sharedStyles } from '../styles/shared.js';

/**
 * "Your data": a button that opens a dialog to export every conversation (JSON, or Markdown
 * in a zip) and to import a file (our JSON export, or ChatGPT's conversations.json or its
 * zip), with the upload's progress and the import's report.
 *
 *   <data-transfer></data-transfer>
 *
 * @fires conversations-imported - {count}: an import made `count` conversations
 * @fires notice - {message}: a download started
 * @fires api-error - {error}: an export failed
 */
export class DataTransfer extends LitElement {
  static properties = {
    _open: { state: true },
    _busy: { state: true },
    _progress: { state: true },
    _report: { state: true },
    _error: { state: true },
    _downloaded: { state: true },
  };

  static styles = [
    sharedStyles,
    dialogStyles,
    css`
      :host {
        display: block;
      }
      .open {
        width: 100%;
      }
      dialog {
        padding: 1.25rem;
        width: min(32rem, calc(100vw - 2rem));
      }
      h2 {
        margin: 0 0 0.75rem;
        font-size: 1.1rem;
      }
      h3 {
        margin: 1rem 0 0.4rem;
        font-size: 0.95rem;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        margin-bottom: 0.5rem;
      }
      p {
        margin: 0.3rem 0;
        color: var(--fg-muted);
      }
      progress {
        width: 100%;
      }
      ul {
        margin: 0.3rem 0;
        padding-left: 1.2rem;
        max-height: 12rem;
        overflow-y: auto;
      }
      .buttons {
        display: flex;
        justify-content: flex-end;
        margin-top: 1rem;
      }
    `,
  ];

  #session = new ContextConsumer(this, { context: sessionContext, subscribe: true });
  #route = new ContextConsumer(this, { context: openConversationContext, subscribe: true });
  #returnFocus = null;

  constructor() {
    super();
    this._open = false;
    this._busy = false;
    this._progress = null;
    this._report = null;
    this._error = '';
    this._downloaded = null;
    new I18nController(this);
  }

  render() {
    return html`
      <button type="button" class="quiet open" @click=${this.#show}>${t('transfer.open')}</button>
      <dialog aria-labelledby="transfer-title" @cancel=${this.#close}>
        <h2 id="transfer-title">${t('transfer.title')}</h2>
        <h3>${t('transfer.export')}</h3>
        <div class="row">
          <button
            type="button"
            class="export-json"
            ?disabled=${this._busy}
            @click=${() => this.#export('json')}
          >
            ${t('transfer.exportJson')}
          </button>
          <button
            type="button"
            class="export-markdown"
            ?disabled=${this._busy}
            @click=${() => this.#export('markdown')}
          >
            ${t('transfer.exportMarkdown')}
          </button>
        </div>
        ${this.#renderThisConversation()}
        ${
          this._downloaded === null
            ? nothing
            : html`<p role="status">
                ${t('transfer.downloading', { size: (this._downloaded / 2 ** 20).toFixed(1) })}
              </p>`
        }
        <h3><label for="import-file">${t('transfer.import')}</label></h3>
        <p id="import-hint">${t('transfer.importHint')}</p>
        <input
          id="import-file"
          type="file"
          accept=".json,.zip,application/json,application/zip"
          aria-describedby="import-hint"
          ?disabled=${this._busy}
          @change=${this.#import}
        />
        <div aria-live="polite">${this.#renderProgress()}${this.#renderReport()}</div>
        <div class="buttons">
          <button type="button" class="close" @click=${this.#close}>${t('transfer.close')}</button>
        </div>
      </dialog>
    `;
  }

  #renderThisConversation() {
    const conversationId = this.#route.value?.conversationId;
    if (!conversationId) return nothing;
    return html`<div class="row this-conversation">
      <button
        type="button"
        ?disabled=${this._busy}
        @click=${() => this.#export('json', conversationId)}
      >
        ${t('transfer.exportOneJson')}
      </button>
      <button
        type="button"
        ?disabled=${this._busy}
        @click=${() => this.#export('markdown', conversationId)}
      >
        ${t('transfer.exportOneMarkdown')}
      </button>
    </div>`;
  }

  #renderProgress() {
    if (this._error) return html`<p class="error-text" role="alert">${this._error}</p>`;
    if (this._progress === null) return nothing;
    const percent = Math.round(this._progress * 100);
    return this._progress < 1
      ? html`<p>${t('transfer.uploading', { percent })}</p>
          <progress max="100" value=${percent} aria-label=${t('transfer.import')}></progress>`
      : html`<p role="status">${t('transfer.importing')}</p>`;
  }

  #renderReport() {
    const report = this._report;
    if (!report) return nothing;
    return html`<p class="report" role="status">
        ${t('transfer.imported', { count: report.imported.length, skipped: report.skipped.length })}
      </p>
      ${
        report.skipped.length
          ? html`<ul class="skipped">
              ${report.skipped.map(
                (item) =>
                  html`<li>
                    ${t('transfer.skippedItem', {
                      title: item.title || `#${item.index + 1}`,
                      reason: t(`transfer.reason.${item.reason}`),
                    })}${item.detail ? html` (${item.detail}${item.count > 1 ? ` ×${item.count}` : ''})` : nothing}
                  </li>`,
              )}
            </ul>`
          : nothing
      }`;
  }

  /** Open the dialog (the sidebar's own button does, once this is loaded). */
  show() {
    this.#show();
  }

  #show() {
    this._report = null;
    this._error = '';
    this._progress = null;
    this._open = true;
    this.#returnFocus = deepActiveElement();
    this.renderRoot.querySelector('dialog').showModal();
    this.renderRoot.querySelector('.export-json').focus();
  }

  #close(event) {
    event?.preventDefault();
    this.renderRoot.querySelector('dialog').close();
    this._open = false;
    this.#returnFocus?.focus?.();
  }

  async #export(format, conversationId = null) {
    this._busy = true;
    this._downloaded = 0;
    try {
      const name = await downloadExport({
        token: this.#session.value?.token,
        format,
        conversationId,
        onProgress: (bytes) => (this._downloaded = bytes),
      });
      emitNotice(this, t('transfer.downloaded', { name }));
    } catch (error) {
      emitError(this, error);
    } finally {
      this._busy = false;
      this._downloaded = null;
    }
  }

  async #import(event) {
    const input = event.target;
    const file = input.files?.[0];
    if (!file) return;
    this._busy = true;
    this._report = null;
    this._error = '';
    this._progress = 0;
    try {
      this._report = await uploadImport({
        token: this.#session.value?.token,
        file,
        onProgress: (fraction) => (this._progress = fraction),
      });
      emit(this, 'conversations-imported', { count: this._report.imported.length });
    } catch (error) {
      const apiError = asApiError(error);
      if (apiError.code === 'UNAUTHENTICATED') emitError(this, apiError);
      this._error =
        apiError.code === 'BAD_USER_INPUT' ? apiError.message : t(`error.${apiError.code}`);
    } finally {
      this._busy = false;
      this._progress = null;
      input.value = '';
    }
  }
}

customElements.define('data-transfer', DataTransfer);
