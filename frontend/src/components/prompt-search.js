import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { I18nController, formatDateTime, t } from '../i18n/index.js';
import { emit, emitError } from '../lib/events.js';
import { graphqlContext } from '../lib/contexts.js';
import { icons } from '../lib/icons.js';
import { PROMPTS } from '../lib/operations.js';
import { sharedStyles } from '../styles/shared.js';

const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 250;

/**
 * A dialog that searches the user's earlier prompts (the `prompts` query, newest first).
 *
 *   <prompt-search></prompt-search>   ...   element.show();
 *
 * @fires open-post - {conversationId, postId, cursor}: a result was chosen (the dialog closes)
 * @fires api-error - {error}: a search failed
 */
export class PromptSearch extends LitElement {
  static properties = {
    _query: { state: true },
    _results: { state: true },
    _cursor: { state: true },
    _loading: { state: true },
    _searched: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      dialog {
        width: min(40rem, calc(100vw - 1rem));
        max-height: min(40rem, calc(100vh - 2rem));
        border: 1px solid var(--border);
        border-radius: var(--radius);
        background: var(--bg-raised);
        color: var(--fg);
        padding: 0;
      }
      dialog[open] {
        display: flex;
        flex-direction: column;
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 45%);
      }
      header {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.75rem;
        border-bottom: 1px solid var(--border);
      }
      h2 {
        margin: 0;
        font-size: 1rem;
      }
      header form {
        flex: 1;
        display: flex;
      }
      header input {
        flex: 1;
        min-width: 0;
      }
      .results {
        overflow-y: auto;
        padding: 0.5rem;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li button {
        display: block;
        width: 100%;
        text-align: left;
        border-color: transparent;
        background: transparent;
        padding: 0.6rem;
      }
      li button:hover {
        background: var(--bg-soft);
      }
      .prompt {
        display: -webkit-box;
        -webkit-line-clamp: 2;
        -webkit-box-orient: vertical;
        overflow: hidden;
        overflow-wrap: anywhere;
      }
      .date {
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
      .status {
        padding: 0.5rem;
        color: var(--fg-muted);
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });

  constructor() {
    super();
    this._query = '';
    this._results = [];
    this._cursor = null;
    this._loading = false;
    this._searched = false;
    this._loadToken = 0;
    new I18nController(this);
  }

  /** Open the dialog with the search box focused. */
  async show() {
    await this.updateComplete;
    const dialog = this.renderRoot.querySelector('dialog');
    if (!dialog.open) dialog.showModal();
    this.renderRoot.querySelector('input').focus();
    if (!this._searched) this.#search();
  }

  render() {
    return html`<dialog aria-labelledby="title">
      <header>
        <h2 id="title" class="visually-hidden">${t('search.title')}</h2>
        <form role="search" @submit=${this.#onSubmit}>
          <label class="visually-hidden" for="query">${t('search.label')}</label>
          <input
            id="query"
            type="search"
            .value=${this._query}
            placeholder=${t('search.placeholder')}
            @input=${this.#onInput}
          />
        </form>
        <button
          type="button"
          class="quiet icon"
          aria-label=${t('search.close')}
          @click=${this.#close}
        >
          ${icons.close}
        </button>
      </header>
      <div class="results">
        <ul aria-label=${t('search.results')}>
          ${this._results.map(
            (edge) =>
              html`<li>
                <button type="button" @click=${() => this.#open(edge)}>
                  <span class="prompt">${edge.node.prompt}</span>
                  <span class="date">${formatDateTime(edge.node.createdAt)}</span>
                </button>
              </li>`,
          )}
        </ul>
        <div role="status" class="status">
          ${this._loading ? t('search.loading') : this._searched && this._results.length === 0 ? t('search.none') : ''}
        </div>
        ${
          this._cursor && !this._loading
            ? html`<button type="button" class="quiet" @click=${this.#more}>
                ${t('search.more')}
              </button>`
            : nothing
        }
      </div>
    </dialog>`;
  }

  #onInput(event) {
    this._query = event.target.value;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this.#search(), SEARCH_DELAY_MS);
  }

  #onSubmit(event) {
    event.preventDefault();
    clearTimeout(this._timer);
    this.#search();
  }

  async #search() {
    const loadToken = ++this._loadToken;
    this._loading = true;
    try {
      const page = await this.#fetch(null);
      if (loadToken !== this._loadToken) return;
      this._results = page.edges;
      this._cursor = page.cursor;
      this._searched = true;
    } catch (error) {
      if (loadToken === this._loadToken) emitError(this, error);
    } finally {
      if (loadToken === this._loadToken) this._loading = false;
    }
  }

  async #more() {
    const loadToken = this._loadToken;
    this._loading = true;
    try {
      const page = await this.#fetch(this._cursor);
      if (loadToken !== this._loadToken) return;
      this._results = [...this._results, ...page.edges];
      this._cursor = page.cursor;
    } catch (error) {
      emitError(this, error);
    } finally {
      if (loadToken === this._loadToken) this._loading = false;
    }
  }

  async #fetch(after) {
    const { prompts } = await this.#graphql.value.request(PROMPTS, {
      first: PAGE_SIZE,
      after,
      search: this._query.trim() || null,
    });
    return {
      edges: prompts.edges,
      cursor: prompts.pageInfo.hasNextPage ? prompts.pageInfo.endCursor : null,
    };
  }

  #open(edge) {
    this.#close();
    emit(this, 'open-post', {
      conversationId: edge.node.conversationId,
      postId: edge.node.id,
      cursor: edge.cursor,
    });
  }

  #close() {
    this.renderRoot.querySelector('dialog').close();
  }
}

customElements.define('prompt-search', PromptSearch);
