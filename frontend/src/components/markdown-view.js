import { css, html, LitElement } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { copyText } from '../lib/clipboard.js';
import { emitNotice } from '../lib/events.js';
import { highlightCodeIn } from '../lib/highlight.js';
import { MarkdownStream } from '../lib/markdown.js';
import { sharedStyles } from '../styles/shared.js';

/**
 * Sanitized Markdown from the model, with a copy button on each code block.
 *
 *   <markdown-view .source=${post.body} ?streaming=${true}></markdown-view>
 *
 * As `source` grows (an answer being written), the blocks already final stay in the DOM and
 * only the last one is rendered again. While `streaming`, code is not highlighted yet.
 *
 * @fires notice - {message}: "Copied" (or that copying failed) after a code block's copy button
 */
export class MarkdownView extends LitElement {
  #markdown;

  static properties = {
    source: { type: String },
    streaming: { type: Boolean },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        overflow-wrap: anywhere;
      }
      .content > :first-child {
        margin-top: 0;
      }
      .content > :last-child {
        margin-bottom: 0;
      }
      a {
        color: var(--accent);
      }
      a:not([href]) {
        color: inherit;
        text-decoration: underline dotted;
      }
      code {
        font-family: var(--mono);
        font-size: 0.9em;
        background: var(--code-bg);
        color: var(--code-fg);
        border-radius: 4px;
        padding: 0.1em 0.3em;
      }
      .code-block {
        margin: 0.75rem 0;
        border: 1px solid var(--border);
        border-radius: 8px;
        background: var(--code-bg);
        overflow: hidden;
      }
      .code-header {
        display: flex;
        align-items: center;
        justify-content: space-between;
        padding: 0.15rem 0.25rem 0.15rem 0.75rem;
        font-size: 0.8rem;
        color: var(--fg-muted);
        border-bottom: 1px solid var(--border);
      }
      .code-header button {
        font-size: 0.8rem;
        min-height: 1.9rem;
        padding: 0.1rem 0.5rem;
      }
      pre {
        margin: 0;
        padding: 0.75rem;
        overflow-x: auto;
      }
      pre code {
        background: none;
        padding: 0;
        font-size: 0.875rem;
      }
      table {
        border-collapse: collapse;
        display: block;
        overflow-x: auto;
      }
      th,
      td {
        border: 1px solid var(--border);
        padding: 0.3rem 0.6rem;
      }
      blockquote {
        margin-left: 0;
        padding-left: 1rem;
        border-left: 3px solid var(--border);
        color: var(--fg-muted);
      }
      .hljs-keyword,
      .hljs-built_in,
      .hljs-selector-tag,
      .hljs-meta {
        color: var(--hl-keyword);
      }
      .hljs-string,
      .hljs-attr,
      .hljs-regexp {
        color: var(--hl-string);
      }
      .hljs-number,
      .hljs-literal {
        color: var(--hl-number);
      }
      .hljs-comment,
      .hljs-quote {
        color: var(--hl-comment);
        font-style: italic;
      }
      .hljs-title,
      .hljs-function,
      .hljs-name,
      .hljs-tag {
        color: var(--hl-title);
      }
    `,
  ];

  constructor() {
    super();
    this.source = '';
    this.streaming = false;
    new I18nController(this);
  }

  render() {
    return html`<div class="content" @click=${this.#onClick}></div>`;
  }

  firstUpdated() {
    this.#markdown = new MarkdownStream(this.renderRoot.querySelector('.content'), {
      decorate: (fragment) => addCodeToolbars(fragment),
    });
  }

  updated(changed) {
    const content = this.renderRoot.querySelector('.content');
    if (changed.has('source')) {
      this.#markdown.render(this.source);
    } else {
      for (const button of content.querySelectorAll('button.copy-code:not(.copied)')) {
        button.textContent = t('markdown.copyCode');
      }
    }
    if (!this.streaming) highlightCodeIn(content);
  }

  async #onClick(event) {
    const button = event.target.closest?.('button.copy-code');
    if (!button) return;
    const code = button.closest('.code-block').querySelector('pre').textContent;
    try {
      await copyText(code);
      emitNotice(this, t('markdown.copied'));
      // The button itself says so for a moment, where the reader is looking.
      button.textContent = t('markdown.copiedShort');
      button.classList.add('copied');
      clearTimeout(button.copiedTimer);
      button.copiedTimer = setTimeout(() => {
        button.textContent = t('markdown.copyCode');
        button.classList.remove('copied');
      }, COPIED_MS);
    } catch {
      emitNotice(this, t('markdown.copyFailed'));
    }
  }
}

/** How long a copy button says "Copied". */
export const COPIED_MS = 2000;

/** Put each code block in a frame with its language and a copy button. */
function addCodeToolbars(fragment) {
  for (const pre of fragment.querySelectorAll('pre')) {
    const language = /language-([\w+-]+)/.exec(pre.querySelector('code')?.className ?? '')?.[1];
    const block = document.createElement('div');
    block.className = 'code-block';
    const header = document.createElement('div');
    header.className = 'code-header';
    const label = document.createElement('span');
    label.textContent = language ?? '';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-code quiet';
    button.textContent = t('markdown.copyCode');
    header.append(label, button);
    pre.replaceWith(block);
    block.append(header, pre);
  }
}

customElements.define('markdown-view', MarkdownView);
