import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { I18nController, formatMonth, t } from '../i18n/index.js';
import { groupConversations } from '../lib/date-groups.js';
import { emit, emitError } from '../lib/events.js';
import { graphqlContext, openConversationContext } from '../lib/contexts.js';
import { icons } from '../lib/icons.js';
import {
  CONVERSATIONS,
  DELETE_CONVERSATION,
  PIN_CONVERSATION,
  UPDATE_CONVERSATION,
} from '../lib/operations.js';
import { sharedStyles } from '../styles/shared.js';
import './confirm-dialog.js';

const PAGE_SIZE = 20;
const MAX_PINNED = 50;
const SEARCH_DELAY_MS = 250;

/**
 * The user's conversations: the pinned ones first, then the others newest first in date
 * sections (Today, Yesterday, Previous 7 days, then by month; lib/date-groups.js), loaded
 * page by page as the list scrolls; searchable; each pinnable, renamable and deletable (after
 * a confirmation), its actions shown on hover or focus so the title has the whole width (and
 * a tooltip with all of it). The one the URL opens is marked as the current page.
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
    _pinned: { state: true },
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
      .group + .group {
        margin-top: 0.6rem;
      }
      .group-title {
        margin: 0;
        padding: 0.35rem 0.6rem 0.2rem;
        font-size: 0.75rem;
        font-weight: 600;
        letter-spacing: 0.02em;
        color: var(--fg-muted);
      }
      li.item {
        position: relative;
        display: flex;
        align-items: center;
        border-radius: 8px;
      }
      li.item:hover,
      li.item.active {
        background: var(--bg-raised);
      }
      li.item.active {
        box-shadow: inset 3px 0 0 var(--accent);
      }
      /* The actions cover the end of the title only while the pointer or the focus is on it. */
      .actions {
        position: absolute;
        inset: 0 0 0 auto;
        display: flex;
        align-items: center;
        padding-left: 1.25rem;
        border-radius: 0 8px 8px 0;
        background: linear-gradient(to right, transparent, var(--bg-raised) 1.25rem);
        opacity: 0;
      }
      li.item:hover .actions,
      li.item:focus-within .actions {
        opacity: 1;
      }
      @media (hover: none) {
        .actions {
          position: static;
          opacity: 1;
          padding-left: 0;
          background: none;
        }
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
      .actions button {
        min-height: 2rem;
        min-width: 2rem;
        padding: 0.2rem;
      }
      .actions button[aria-pressed='true'] {
        color: var(--accent);
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
      .skeleton {
        display: flex;
        flex-direction: column;
        gap: 1.1rem;
        padding: 0.9rem 0.6rem;
      }
      .bone {
        height: 0.85rem;
        border-radius: 6px;
        background: var(--border);
        opacity: 0.6;
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
    this._pinned = [];
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
      // Searching looks through every conversation; otherwise the pinned ones come apart,
      // all of them, and the others page by page.
      const [pinned, page] = await Promise.all([
        this._search ? { items: [] } : this.#fetch(null, { pinned: true, first: MAX_PINNED }),
        this.#fetch(null, this._search ? {} : { pinned: false }),
      ]);
      if (loadToken !== this._loadToken) return;
      this._pinned = pinned.items;
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
    const pinned = this._pinned.find((item) => item.id === conversation.id);
    if (pinned) {
      this._pinned = this._pinned.map((item) =>
        item === pinned ? { ...item, ...conversation } : item,
      );
      return;
    }
    const known = this._items.find((item) => item.id === conversation.id);
    const others = this._items.filter((item) => item !== known);
    this._items = [{ ...known, ...conversation }, ...others];
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
            groupConversations([...this._pinned, ...this._items]),
            (group) => group.key,
            (group) => this.#renderGroup(group),
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

  #renderGroup(group) {
    const label =
      group.kind === 'month' ? formatMonth(group.month) : t(`sidebar.group.${group.kind}`);
    return html`<li class="group" data-group=${group.key}>
      <h3 class="group-title" id="group-${group.key}">${label}</h3>
      <ul aria-labelledby="group-${group.key}">
        ${repeat(
          group.items,
          (item) => item.id,
          (item) => this.#renderItem(item),
        )}
      </ul>
    </li>`;
  }

  #renderItem(item) {
    const active = item.id === this.#openConversation.value?.conversationId;
    const pinned = Boolean(item.pinnedAt);
    if (item.id === this._renamingId) {
      return html`<li class="item ${active ? 'active' : ''}">
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
    return html`<li class="item ${active ? 'active' : ''}" data-id=${item.id}>
      <a
        href="#/c/${encodeURIComponent(item.id)}"
        title=${item.title}
        aria-current=${active ? 'page' : nothing}
        >${item.title}</a
      >
      <span class="actions">
        <button
          type="button"
          class="quiet icon pin"
          aria-label=${t(pinned ? 'sidebar.unpinItem' : 'sidebar.pinItem', { title: item.title })}
          aria-pressed=${pinned ? 'true' : 'false'}
          title=${t(pinned ? 'sidebar.unpin' : 'sidebar.pin')}
          @click=${() => this.#setPinned(item, !pinned)}
        >
          ${icons.pin}
        </button>
        <button
          type="button"
          class="quiet icon rename-button"
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
      </span>
    </li>`;
  }

  #renderFooter() {
    if (this._loading && this._items.length === 0 && this._pinned.length === 0) {
      return html`<p class="visually-hidden" role="status">${t('sidebar.loading')}</p>
        <div class="skeleton" aria-hidden="true">
          ${[70, 55, 80, 60, 45].map((width) => html`<div class="bone" style="width: ${width}%"></div>`)}
        </div>`;
    }
    if (this._items.length === 0 && this._pinned.length === 0) {
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

  async #fetch(after, { pinned = null, first = PAGE_SIZE } = {}) {
    const { conversations } = await this.#graphql.value.request(CONVERSATIONS, {
      first,
      after,
      search: this._search || null,
      pinned,
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
      const page = await this.#fetch(this._cursor, this._search ? {} : { pinned: false });
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
    this.#change(item.id, { title });
    try {
      const { updateConversation } = await this.#graphql.value.request(UPDATE_CONVERSATION, {
        id: item.id,
        title,
      });
      this.#change(item.id, updateConversation);
      emit(this, 'conversation-renamed', { conversation: updateConversation });
    } catch (error) {
      this.#change(item.id, { title: item.title });
      emitError(this, error);
    }
  }

  /** Apply `fields` to conversation `id`, wherever it is listed. */
  #change(id, fields) {
    const apply = (each) => (each.id === id ? { ...each, ...fields } : each);
    this._pinned = this._pinned.map(apply);
    this._items = this._items.map(apply);
  }

  #itemElement(id) {
    return this.renderRoot.querySelector(`li.item[data-id="${CSS.escape(id)}"]`);
  }

  #focusItemButton(id) {
    this.#itemElement(id)?.querySelector('.rename-button')?.focus();
  }

  /** Pin to the top, or put back among the others by date; the focus stays on its button. */
  async #setPinned(item, pinned) {
    try {
      const { pinConversation } = await this.#graphql.value.request(PIN_CONVERSATION, {
        id: item.id,
        pinned,
      });
      const updated = { ...item, ...pinConversation };
      const others = this._items.filter((each) => each.id !== item.id);
      this._pinned = this._pinned.filter((each) => each.id !== item.id);
      if (pinned || this._search) {
        if (pinned && !this._search) this._pinned = [updated, ...this._pinned];
        this._items = this._search
          ? this._items.map((e) => (e.id === item.id ? updated : e))
          : others;
      } else {
        const byActivity = (a, b) =>
          a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0;
        this._items = [updated, ...others].sort(byActivity);
      }
      await this.updateComplete;
      this.#itemElement(item.id)?.querySelector('.pin')?.focus();
    } catch (error) {
      emitError(this, error);
    }
  }

  async #confirmDelete() {
    const item = this._deleting;
    this._deleting = null;
    if (!item) return;
    const index = [...this.renderRoot.querySelectorAll('li.item')].indexOf(
      this.#itemElement(item.id),
    );
    try {
      await this.#graphql.value.request(DELETE_CONVERSATION, { id: item.id });
      this._items = this._items.filter((each) => each.id !== item.id);
      this._pinned = this._pinned.filter((each) => each.id !== item.id);
      emit(this, 'conversation-deleted', { id: item.id });
      // The focused delete button is gone: move to the conversation that took its place.
      await this.updateComplete;
      const links = this.renderRoot.querySelectorAll('li.item a');
      (
        links[Math.min(index, links.length - 1)] ?? this.renderRoot.querySelector('#search')
      ).focus();
    } catch (error) {
      emitError(this, error);
    }
  }
}

customElements.define('conversation-list', ConversationList);
