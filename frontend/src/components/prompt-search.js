import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { I18nController, formatDateTime, t } from '../i18n/index.js';
import { emit, emitError } from '../lib/events.js';
import { graphqlContext } from '../lib/contexts.js';
import { icons } from '../lib/icons.js';
import { CONVERSATIONS, PROMPTS, SEARCH_POSTS } from '../lib/operations.js';
import { hasEveryWord, hasSearchableWord, markedRuns, wordRanges } from '../lib/search-text.js';
import { dialogStyles, sharedStyles } from '../styles/shared.js';

const PAGE_SIZE = 20;
// Words shorter than the server searches are checked here, so a page holds more hits.
const HITS_PAGE_SIZE = 50;
const TITLES_SHOWN = 5;
const SEARCH_DELAY_MS = 250;

/** `runs` (lib/search-text.js) as text with the matched words in <mark>: Lit escapes them. */
function marked(runs) {
  return runs.map((run) => (run.marked ? html`<mark>${run.text}</mark>` : run.text));
}

/**
 * The one search: conversations by title, and prompts and answers by their words (the
 * `searchPosts` query, newest first), each hit showing the words in context, marked. With
 * nothing typed it lists the newest prompts. A hit opens its conversation at that post.
 *
 *   <prompt-search></prompt-search>   ...   element.show();
 *
 * @fires open-post - {conversationId, postId, cursor}: a result was chosen (the dialog closes)
 * @fires api-error - {error}: a search failed
 */
export class PromptSearch extends LitElement {
  static properties = {
    _query: { state: true },
    _titles: { state: true },
    _results: { state: true },
    _cursor: { state: true },
    _loading: { state: true },
    _searched: { state: true },
  };

  static styles = [
    sharedStyles,
    dialogStyles,
    css`
      dialog {
        width: min(40rem, calc(100vw - 1rem));
        max-height: min(40rem, calc(100vh - 2rem));
        padding: 0;
      }
      dialog[open] {
        display: flex;
        flex-direction: column;
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
      .date,
      .where,
      .hint {
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
      .where {
        font-weight: 600;
        margin-right: 0.4rem;
      }
      h3 {
        margin: 0.25rem 0.6rem;
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
      mark {
        background: var(--mark-bg);
        color: inherit;
        border-radius: 3px;
        padding: 0 1px;
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
    this._titles = [];
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
        ${
          this._titles.length
            ? html`<h3 id="titles">${t('search.titles')}</h3>
                <ul aria-labelledby="titles">
                  ${this._titles.map(
                    (conversation) =>
                      html`<li>
                        <button type="button" @click=${() => this.#openConversation(conversation)}>
                          <span class="prompt"
                            >${marked(
                              markedRuns(
                                conversation.title,
                                wordRanges(conversation.title, this._query),
                              ),
                            )}</span
                          >
                          <span class="date">${formatDateTime(conversation.updatedAt)}</span>
                        </button>
                      </li>`,
                  )}
                </ul>
                <h3 id="messages">${t('search.messages')}</h3>`
            : nothing
        }
        <ul aria-label=${t('search.results')}>
          ${this._results.map(
            (result) =>
              html`<li>
                <button type="button" @click=${() => this.#open(result)}>
                  <span class="prompt">${marked(result.runs)}</span>
                  <span class="date"
                    >${
                      result.where
                        ? html`<span class="where">${t(`search.in.${result.where}`)}</span>`
                        : nothing
                    }${formatDateTime(result.post.createdAt)}</span
                  >
                </button>
              </li>`,
          )}
        </ul>
        <div role="status" class="status">
          ${
            this._loading
              ? t('search.loading')
              : this._searched && this._results.length === 0 && this._titles.length === 0
                ? t('search.none')
                : ''
          }
          ${
            this._searched && this._query.trim() && !hasSearchableWord(this._query)
              ? html`<span class="hint">${t('search.shortWords', { min: 3 })}</span>`
              : nothing
          }
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
      const [page, titles] = await Promise.all([this.#fetch(null), this.#fetchTitles()]);
      if (loadToken !== this._loadToken) return;
      this._results = page.results;
      this._titles = titles;
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
      this._results = [...this._results, ...page.results];
      this._cursor = page.cursor;
    } catch (error) {
      emitError(this, error);
    } finally {
      if (loadToken === this._loadToken) this._loading = false;
    }
  }

  /** A page of results `{ post, cursor, where, runs }`: the newest prompts with nothing
   * typed, else the prompts and answers that have every word. */
  async #fetch(after) {
    const query = this._query.trim();
    if (!query) {
      const { prompts } = await this.#graphql.value.request(PROMPTS, { first: PAGE_SIZE, after });
      return {
        results: prompts.edges.map((edge) => ({
          post: edge.node,
          cursor: edge.cursor,
          where: null,
          runs: [{ text: edge.node.prompt, marked: false }],
        })),
        cursor: prompts.pageInfo.hasNextPage ? prompts.pageInfo.endCursor : null,
      };
    }
    if (!hasSearchableWord(query)) return { results: [], cursor: null };
    const { searchPosts } = await this.#graphql.value.request(SEARCH_POSTS, {
      text: query,
      first: HITS_PAGE_SIZE,
      after,
    });
    return {
      results: searchPosts.edges
        .filter(({ node }) => hasEveryWord([node.post.prompt, node.post.body], query))
        .map(({ node, cursor }) => ({
          post: node.post,
          cursor,
          where: node.matchedIn === 'ANSWER' ? 'answer' : 'prompt',
          runs: markedRuns(node.snippet, node.highlights),
        })),
      cursor: searchPosts.pageInfo.hasNextPage ? searchPosts.pageInfo.endCursor : null,
    };
  }

  /** The conversations whose title has the words typed (none with nothing typed). */
  async #fetchTitles() {
    const query = this._query.trim();
    if (!query) return [];
    const { conversations } = await this.#graphql.value.request(CONVERSATIONS, {
      first: TITLES_SHOWN,
      search: query,
    });
    return conversations.edges.map((edge) => edge.node);
  }

  #open(result) {
    this.#close();
    emit(this, 'open-post', {
      conversationId: result.post.conversationId,
      postId: result.post.id,
      cursor: result.cursor,
    });
  }

  #openConversation(conversation) {
    this.#close();
    window.location.hash = `#/c/${encodeURIComponent(conversation.id)}`;
  }

  #close() {
    this.renderRoot.querySelector('dialog').close();
  }
}

customElements.define('prompt-search', PromptSearch);
