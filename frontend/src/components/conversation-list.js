import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { I18nController, t } from '../i18n/index.js';
import { emit, emitError } from '../lib/events.js';
import { graphqlContext, openConversationContext } from '../lib/contexts.js';
import { icons } from '../lib/icons.js';
import { CONVERSATIONS, DELETE_CONVERSATION, UPDATE_CONVERSATION } from '../lib/operations.js';
import { sharedStyles } from '../styles/shared.js';
import './confirm-dialog.js';

const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 250;

/**
 * The user's conversations, newest first, loaded page by page as the list scrolls;
 * searchable; each renamable and deletable (after a confirmation). The one the URL opens
 * is marked as the current page.
 *
 *   <conversation-list></conversation-list>
 *
 * Call `refresh()` after a conversation is created and `upsert(conversation)` when one
 * changes (it moves to the top).
 *
 * @fires conversation-renamed - {conversation}: the server saved a new title
 * @fires conversation-deleted - {id}: the server deleted conversation id
 * @fires api-error - {error}: loading, renaming or deleting failed
 */
export class ConversationList extends LitElement {
  static properties = {
    _items: { state: true },
    _search: { state: true },
    _cursor: { state: true },
    _loading: { state: true },
    _renamingId: { state: true },
    _deleting: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: flex;
        flex-direction: column;
        min-height: 0;
        flex: 1;
      }
      .search {
        padding: 0 0.75rem 0.5rem;
      }
      .search input {
        width: 100%;
      }
      .scroller {
        flex: 1;
        overflow-y: auto;
        min-height: 0;
        padding: 0 0.5rem 0.5rem;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: flex;
        align-items: center;
        gap: 0.15rem;
        border-radius: 8px;
      }
      li:hover,
      li.active {
        background: var(--bg-raised);
      }
      li.active {
        box-shadow: inset 3px 0 0 var(--accent);
      }
      a {
        flex: 1;
        min-width: 0;
        padding: 0.5rem 0.6rem;
        color: inherit;
        text-decoration: none;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
        border-radius: 8px;
      }
      li.active a {
        font-weight: 600;
      }
      li button {
        min-height: 2rem;
        min-width: 2rem;
        padding: 0.2rem;
        opacity: 0.7;
      }
      li button:hover,
      li button:focus-visible {
        opacity: 1;
      }
      .rename {
        flex: 1;
        display: flex;
        padding: 0.2rem;
      }
      .rename input {
        flex: 1;
        min-width: 0;
      }
      .status {
        padding: 0.5rem 0.6rem;
        color: var(--fg-muted);
        font-size: 0.9rem;
      }
      .more {
        width: 100%;
        margin-top: 0.25rem;
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });
  #openConversation = new ContextConsumer(this, {
    context: openConversationContext,
    subscribe: true,
  });

  constructor() {
    super();
    this._items = [];
    this._search = '';
    this._cursor = null;
    this._loading = false;
    this._renamingId = null;
    this._deleting = null;
    this._loadToken = 0;
    this._searchTimer = 0;
    new I18nController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    this.refresh();
  }

  firstUpdated() {
    // Load the next page when the "more" button scrolls into view.
    this._observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) this.#loadMore();
      },
      { root: this.renderRoot.querySelector('.scroller'), rootMargin: '200px' },
    );
    this.#observeMore();
  }

  updated() {
    this.#observeMore();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this._observer?.disconnect();
    clearTimeout(this._searchTimer);
  }

  /** Reload the first page (new conversation, new search). */
  async refresh() {
    const loadToken = ++this._loadToken;
    this._loading = true;
    try {
      const page = await this.#fetch(null);
      if (loadToken !== this._loadToken) return;
      this._items = page.items;
      this._cursor = page.cursor;
    } catch (error) {
      if (loadToken === this._loadToken) emitError(this, error);
    } finally {
      if (loadToken === this._loadToken) this._loading = false;
    }
  }

  /** Put a changed or new conversation at the top (the list is newest-updated first). */
  upsert(conversation) {
    if (this._search) return;
    const others = this._items.filter((item) => item.id !== conversation.id);
    this._items = [conversation, ...others];
  }

  render() {
    return html`
      <div class="search" role="search">
        <label class="visually-hidden" for="search">${t('sidebar.search')}</label>
        <input
          id="search"
          type="search"
          placeholder=${t('sidebar.search')}
          .value=${this._search}
          @input=${this.#onSearch}
        />
      </div>
      <div class="scroller">
        <ul aria-label=${t('sidebar.conversations')}>
          ${repeat(
            this._items,
            (item) => item.id,
            (item) => this.#renderItem(item),
          )}
        </ul>
        ${this.#renderFooter()}
      </div>
      <confirm-dialog
        .open=${Boolean(this._deleting)}
        .message=${this._deleting ? t('sidebar.deleteConfirm', { title: this._deleting.title }) : ''}
        .confirmLabel=${t('sidebar.delete')}
        @confirm=${this.#confirmDelete}
        @cancel=${() => (this._deleting = null)}
      ></confirm-dialog>
    `;
  }

  #renderItem(item) {
    const active = item.id === this.#openConversation.value?.conversationId;
    if (item.id === this._renamingId) {
      return html`<li class=${active ? 'active' : ''}>
        <form class="rename" @submit=${(event) => this.#finishRename(event, item)}>
          <label class="visually-hidden" for="rename-${item.id}">${t('sidebar.newTitle')}</label>
          <input
            id="rename-${item.id}"
            .value=${item.title}
            maxlength="200"
            @keydown=${(event) => event.key === 'Escape' && this.#cancelRename(event)}
            @blur=${(event) => this.#finishRename(event, item)}
          />
        </form>
      </li>`;
    }
    return html`<li class=${active ? 'active' : ''}>
      <a href="#/c/${encodeURIComponent(item.id)}" aria-current=${active ? 'page' : nothing}
        >${item.title}</a
      >
      <button
        type="button"
        class="quiet icon"
        aria-label=${t('sidebar.renameItem', { title: item.title })}
        title=${t('sidebar.rename')}
        @click=${() => this.#startRename(item)}
      >
        ${icons.pencil}
      </button>
      <button
        type="button"
        class="quiet icon"
        aria-label=${t('sidebar.deleteItem', { title: item.title })}
        title=${t('sidebar.delete')}
        @click=${() => (this._deleting = item)}
      >
        ${icons.trash}
      </button>
    </li>`;
  }

  #renderFooter() {
    if (this._loading && this._items.length === 0) {
      return html`<p class="status" role="status">${t('sidebar.loading')}</p>`;
    }
    if (this._items.length === 0) {
      return html`<p class="status">
        ${this._search ? t('sidebar.noMatches') : t('sidebar.empty')}
      </p>`;
    }
    if (!this._cursor) return nothing;
    return html`<button
      type="button"
      class="more quiet"
      ?disabled=${this._loading}
      @click=${this.#loadMore}
    >
      ${this._loading ? t('sidebar.loading') : t('sidebar.loadMore')}
    </button>`;
  }

  #observeMore() {
    const more = this.renderRoot.querySelector('.more');
    if (!this._observer || more === this._observed) return;
    this._observer.disconnect();
    this._observed = more;
    if (more) this._observer.observe(more);
  }

  async #fetch(after) {
    const { conversations } = await this.#graphql.value.request(CONVERSATIONS, {
      first: PAGE_SIZE,
      after,
      search: this._search || null,
    });
    return {
      items: conversations.edges.map((edge) => edge.node),
      cursor: conversations.pageInfo.hasNextPage ? conversations.pageInfo.endCursor : null,
    };
  }

  async #loadMore() {
    if (this._loading || !this._cursor) return;
    const loadToken = this._loadToken;
    this._loading = true;
    try {
      const page = await this.#fetch(this._cursor);
      if (loadToken !== this._loadToken) return;
      const known = new Set(this._items.map((item) => item.id));
      this._items = [...this._items, ...page.items.filter((item) => !known.has(item.id))];
      this._cursor = page.cursor;
    } catch (error) {
      emitError(this, error);
    } finally {
      if (loadToken === this._loadToken) this._loading = false;
    }
  }

  #onSearch(event) {
    this._search = event.target.value.trim();
    clearTimeout(this._searchTimer);
    this._searchTimer = setTimeout(() => this.refresh(), SEARCH_DELAY_MS);
  }

  async #startRename(item) {
    this._renamingId = item.id;
    await this.updateComplete;
    const input = this.renderRoot.querySelector(`#rename-${CSS.escape(item.id)}`);
    input?.focus();
    input?.select();
  }

  async #cancelRename(event) {
    event.preventDefault();
    const id = this._renamingId;
    this._renamingId = null;
    await this.updateComplete;
    this.#focusItemButton(id);
  }

  async #finishRename(event, item) {
    event.preventDefault();
    if (this._renamingId !== item.id) return;
    const input = this.renderRoot.querySelector(`#rename-${CSS.escape(item.id)}`);
    const title = input?.value.trim() ?? '';
    const refocus = event.type === 'submit';
    this._renamingId = null;
    if (refocus) {
      await this.updateComplete;
      this.#focusItemButton(item.id);
    }
    if (!title || title === item.title) return;
    this._items = this._items.map((each) => (each.id === item.id ? { ...each, title } : each));
    try {
      const { updateConversation } = await this.#graphql.value.request(UPDATE_CONVERSATION, {
        id: item.id,
        title,
      });
      this._items = this._items.map((each) =>
        each.id === item.id ? { ...each, ...updateConversation } : each,
      );
      emit(this, 'conversation-renamed', { conversation: updateConversation });
    } catch (error) {
      this._items = this._items.map((each) =>
        each.id === item.id ? { ...each, title: item.title } : each,
      );
      emitError(this, error);
    }
  }

  #focusItemButton(id) {
    const index = this._items.findIndex((item) => item.id === id);
    this.renderRoot.querySelectorAll('li')[index]?.querySelector('button')?.focus();
  }

  async #confirmDelete() {
    const item = this._deleting;
    this._deleting = null;
    if (!item) return;
    const index = this._items.indexOf(item);
    try {
      await this.#graphql.value.request(DELETE_CONVERSATION, { id: item.id });
      this._items = this._items.filter((each) => each.id !== item.id);
      emit(this, 'conversation-deleted', { id: item.id });
      // The focused delete button is gone: move to the conversation that took its place.
      await this.updateComplete;
      const links = this.renderRoot.querySelectorAll('li a');
      (
        links[Math.min(index, links.length - 1)] ?? this.renderRoot.querySelector('#search')
      ).focus();
    } catch (error) {
      emitError(this, error);
    }
  }
}

customElements.define('conversation-list', ConversationList);
