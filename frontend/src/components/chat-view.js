import { css, html, LitElement, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { I18nController, t } from '../i18n/index.js';
import { followAnswer } from '../lib/answer-stream.js';
import { saveDraft } from '../lib/drafts.js';
import { ApiError } from '../lib/errors.js';
import { emit, emitError } from '../lib/events.js';
import { request } from '../lib/graphql.js';
import { icons } from '../lib/icons.js';
import {
  CONVERSATION_LATEST,
  CREATE_CONVERSATION,
  POSTS_AFTER,
  POSTS_BEFORE,
  REGENERATE_POST,
  STOP_GENERATION,
  UPDATE_CONVERSATION,
} from '../lib/operations.js';
import { loadOptions, saveOptions } from '../lib/preferences.js';
import { sharedStyles } from '../styles/shared.js';
import './options-panel.js';
import './post-item.js';
import './prompt-composer.js';

const PAGE_SIZE = 20;
const LIVE_STATUSES = new Set(['PENDING', 'STREAMING']);
const NEAR_BOTTOM_PX = 80;

/** The options the API takes, from what the panel stored. */
function generationOptions(stored) {
  const options = {};
  if (stored.language) options.language = stored.language;
  if (stored.format) options.format = stored.format;
  if (stored.maxTokens) options.maxTokens = stored.maxTokens;
  return Object.keys(options).length ? options : null;
}

/** A title for a conversation that starts with `prompt`. */
function titleFrom(prompt) {
  const line = prompt.split('\n')[0].trim();
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}

/**
 * One conversation: its posts (loaded page by page upward, or around one post when opened
 * from a search), the answer being written, the composer and the options panel.
 *
 *   <chat-view .conversationId=${id} .focusPost=${{ postId, cursor }} .user=${user}
 *              .serverInfo=${info} .client=${subscriptionClient}></chat-view>
 *
 * `conversationId` null is a new chat. Fires `conversation-created` ({id}) when the first
 * prompt of a new chat creates it, `conversation-changed` ({conversation}) when its title,
 * instructions or activity change, `answer-complete` ({post, text}), `api-error`, `toggle-sidebar`.
 */
export class ChatView extends LitElement {
  static properties = {
    conversationId: { type: String },
    focusPost: { attribute: false },
    user: { attribute: false },
    serverInfo: { attribute: false },
    client: { attribute: false },
    _conversation: { state: true },
    _posts: { state: true },
    _earlierCursor: { state: true },
    _laterCursor: { state: true },
    _loading: { state: true },
    _loadingMore: { state: true },
    _sending: { state: true },
    _notFound: { state: true },
    _optionsOpen: { state: true },
    _options: { state: true },
    _newInstructions: { state: true },
    _savingInstructions: { state: true },
    _highlightedId: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
        min-height: 0;
      }
      header {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.5rem 1rem;
        border-bottom: 1px solid var(--border);
        min-height: 3.25rem;
      }
      header h1 {
        flex: 1;
        margin: 0;
        font-size: 1.05rem;
        font-weight: 600;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      header button {
        display: inline-flex;
        align-items: center;
        gap: 0.35rem;
      }
      .menu-button {
        display: none;
      }
      .options {
        padding: 0.75rem 1rem 0;
      }
      .scroller {
        flex: 1;
        overflow-y: auto;
        overflow-anchor: none; /* #applyScroll decides */
        min-height: 0;
      }
      .posts {
        max-width: 48rem;
        margin: 0 auto;
        padding: 0.5rem 1rem 1rem;
      }
      .more {
        display: flex;
        justify-content: center;
        padding: 0.5rem;
      }
      .empty {
        max-width: 36rem;
        margin: 18vh auto 0;
        padding: 0 1rem;
        text-align: center;
        color: var(--fg-muted);
      }
      .empty h2 {
        color: var(--fg);
        font-size: 1.4rem;
      }
      .composer {
        max-width: 48rem;
        width: 100%;
        margin: 0 auto;
        padding: 0.5rem 1rem 0.75rem;
      }
      .loading {
        padding: 2rem;
        text-align: center;
        color: var(--fg-muted);
      }
      @media (max-width: 768px) {
        .menu-button {
          display: inline-flex;
        }
        header {
          padding: 0.4rem 0.5rem;
        }
        header .label {
          display: none;
        }
        .posts,
        .composer {
          padding-left: 0.6rem;
          padding-right: 0.6rem;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.conversationId = null;
    this.focusPost = null;
    this._posts = [];
    this._streams = new Map(); // post id -> cancel function
    this._localIds = 0;
    this._adoptedId = null;
    this._loadToken = 0;
    this._optionsOpen = false;
    this._newInstructions = '';
    this._scrollMode = { kind: 'bottom' };
    this._expectedScrollTop = 0;
    new I18nController(this);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.#cancelStreams();
    this._resizeObserver?.disconnect();
    this._observedContent = null;
  }

  willUpdate(changed) {
    if (changed.has('conversationId') || changed.has('focusPost')) {
      const adopted =
        this.conversationId && this.conversationId === this._adoptedId && !this.focusPost;
      this._adoptedId = null;
      if (!adopted) this.#load();
    }
  }

  firstUpdated() {
    // Posts render in their own update cycles, so the list grows after this element has
    // updated: re-apply the scroll rule whenever the content's size changes.
    this._resizeObserver = new ResizeObserver(() => this.#applyScroll());
  }

  updated() {
    const content = this.renderRoot.querySelector('.posts');
    if (content !== this._observedContent) {
      this._resizeObserver.disconnect();
      if (content) this._resizeObserver.observe(content);
      this._observedContent = content;
    }
    this.#applyScroll();
  }

  /**
   * Keep the scroll position where the reader expects it: at the bottom while following the
   * conversation, still over the same posts after earlier ones are put above, on the post
   * opened from a search, and wherever the reader scrolled otherwise.
   */
  #applyScroll() {
    const scroller = this.renderRoot.querySelector('.scroller');
    if (!scroller) return;
    const mode = this._scrollMode;
    if (mode.kind === 'bottom') {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (mode.kind === 'anchor') {
      scroller.scrollTop = scroller.scrollHeight - mode.fromBottom;
    } else if (mode.kind === 'focus') {
      this.renderRoot
        .querySelector(`post-item[data-id="${CSS.escape(mode.postId)}"]`)
        ?.scrollIntoView({ block: 'center' });
    }
    this._expectedScrollTop = scroller.scrollTop;
  }

  /** Take in a change made elsewhere (a rename in the sidebar) to the open conversation. */
  conversationChanged(conversation) {
    if (this._conversation?.id === conversation.id) {
      this._conversation = { ...this._conversation, ...conversation };
    }
  }

  get #streaming() {
    return this._posts.some((post) => LIVE_STATUSES.has(post.status));
  }

  render() {
    const title = this._conversation?.title ?? t('chat.newChat');
    const streamingPost = this._posts.find((post) => LIVE_STATUSES.has(post.status));
    return html`
      <header>
        <button
          type="button"
          class="menu-button icon quiet"
          aria-label=${t('chat.openSidebar')}
          @click=${() => emit(this, 'toggle-sidebar')}
        >
          ${icons.menu}
        </button>
        <h1>${title}</h1>
        <button
          type="button"
          class="quiet"
          aria-expanded=${this._optionsOpen ? 'true' : 'false'}
          aria-controls="options"
          @click=${() => (this._optionsOpen = !this._optionsOpen)}
        >
          ${icons.sliders}<span class="label">${t('chat.options')}</span>
          <span class="visually-hidden">${t('chat.optionsHint')}</span>
        </button>
      </header>
      ${
        this._optionsOpen
          ? html`<section id="options" class="options" aria-label=${t('chat.options')}>
              <options-panel
                .instructions=${this._conversation ? (this._conversation.instructions ?? '') : this._newInstructions}
                .options=${this._options}
                ?saving=${this._savingInstructions}
                @instructions-save=${this.#saveInstructions}
                @options-change=${this.#changeOptions}
              ></options-panel>
            </section>`
          : nothing
      }
      <div class="scroller" @scroll=${this.#onScroll}>${this.#renderPosts()}</div>
      <div class="composer">
        <prompt-composer
          .userId=${this.user?.id ?? ''}
          .conversationId=${this.conversationId}
          .maxLength=${this.serverInfo?.maxPromptLength ?? 0}
          ?sending=${this._sending}
          ?streaming=${Boolean(streamingPost) && !this._sending}
          ?canStop=${Boolean(streamingPost && !streamingPost.local)}
          @send=${this.#send}
          @stop=${this.#stop}
        ></prompt-composer>
      </div>
    `;
  }

  #renderPosts() {
    if (this._loading) return html`<p class="loading" role="status">${t('chat.loading')}</p>`;
    if (this._notFound) {
      return html`<div class="empty">
        <h2>${t('chat.notFound')}</h2>
        <p><a href="#/">${t('chat.startNew')}</a></p>
      </div>`;
    }
    if (this._posts.length === 0) {
      return html`<div class="empty">
        <h2>${t('chat.emptyTitle')}</h2>
        <p>${t('chat.emptyBody')}</p>
      </div>`;
    }
    const last = this._posts.at(-1);
    const busy = this.#streaming || this._sending;
    return html`
      <div class="posts">
        ${
          this._earlierCursor
            ? html`<div class="more">
                <button type="button" ?disabled=${this._loadingMore} @click=${this.#loadEarlier}>
                  ${this._loadingMore ? t('chat.loading') : t('chat.loadEarlier')}
                </button>
              </div>`
            : nothing
        }
        ${repeat(
          this._posts,
          (post) => post.key,
          (post) =>
            html`<post-item
              data-id=${post.id}
              .post=${post}
              ?last=${post === last && !this._laterCursor}
              ?busy=${busy}
              ?highlighted=${post.id === this._highlightedId}
              @regenerate=${this.#regenerate}
            ></post-item>`,
        )}
        ${
          this._laterCursor
            ? html`<div class="more">
                <button type="button" ?disabled=${this._loadingMore} @click=${this.#loadLater}>
                  ${this._loadingMore ? t('chat.loading') : t('chat.loadLater')}
                </button>
              </div>`
            : nothing
        }
      </div>
    `;
  }

  // Loading ---------------------------------------------------------------------------------

  async #load() {
    this.#cancelStreams();
    const loadToken = ++this._loadToken;
    this._posts = [];
    this._conversation = null;
    this._earlierCursor = null;
    this._laterCursor = null;
    this._notFound = false;
    this._sending = false;
    this._highlightedId = null;
    this._options = loadOptions(this.conversationId);
    this._scrollMode = { kind: 'bottom' };
    if (!this.conversationId) {
      this._loading = false;
      this.#markReady();
      return;
    }
    this._loading = true;
    try {
      const page = this.focusPost?.cursor
        ? await this.#fetchAround(this.focusPost.cursor)
        : await this.#fetchLatest();
      if (loadToken !== this._loadToken) return;
      if (!page) {
        this._notFound = true;
        return;
      }
      this._conversation = page.conversation;
      this._posts = page.posts;
      this._earlierCursor = page.earlierCursor;
      this._laterCursor = page.laterCursor;
      if (this.focusPost?.postId) {
        this._highlightedId = this.focusPost.postId;
        this._scrollMode = { kind: 'focus', postId: this.focusPost.postId };
      }
      for (const post of this._posts) if (LIVE_STATUSES.has(post.status)) this.#reattach(post);
    } catch (error) {
      if (loadToken === this._loadToken) emitError(this, error);
    } finally {
      if (loadToken === this._loadToken) this._loading = false;
    }
    if (loadToken === this._loadToken) this.#markReady();
  }

  /**
   * Record when the page first shows a usable conversation (the `chat-ready` performance
   * mark, read by bench/bench_frontend.py): its posts rendered and the composer enabled.
   */
  async #markReady() {
    if (performance.getEntriesByName('chat-ready').length) return;
    await this.updateComplete;
    const items = [...this.renderRoot.querySelectorAll('post-item')];
    await Promise.all(items.map((item) => item.updateComplete));
    await Promise.all(
      items.map((item) => item.renderRoot.querySelector('markdown-view')?.updateComplete),
    );
    if (!performance.getEntriesByName('chat-ready').length) performance.mark('chat-ready');
  }

  async #fetchLatest() {
    const { conversation } = await request(CONVERSATION_LATEST, {
      id: this.conversationId,
      last: PAGE_SIZE,
    });
    if (!conversation) return null;
    const { posts, ...rest } = conversation;
    return {
      conversation: rest,
      posts: posts.edges.map(toItem),
      earlierCursor: posts.pageInfo.hasPreviousPage ? posts.pageInfo.startCursor : null,
      laterCursor: null,
    };
  }

  /** The page before the post at `cursor`, then a page starting with that post. */
  async #fetchAround(cursor) {
    const before = await request(POSTS_BEFORE, {
      id: this.conversationId,
      last: PAGE_SIZE,
      before: cursor,
    });
    if (!before.conversation) return null;
    const { posts: earlier, ...conversation } = before.conversation;
    const after = await request(POSTS_AFTER, {
      id: this.conversationId,
      first: PAGE_SIZE,
      after: earlier.edges.at(-1)?.cursor ?? null,
    });
    const later = after.conversation.posts;
    return {
      conversation,
      posts: [...earlier.edges, ...later.edges].map(toItem),
      earlierCursor: earlier.pageInfo.hasPreviousPage ? earlier.pageInfo.startCursor : null,
      laterCursor: later.pageInfo.hasNextPage ? later.pageInfo.endCursor : null,
    };
  }

  async #loadEarlier() {
    if (this._loadingMore || !this._earlierCursor) return;
    const loadToken = this._loadToken;
    this._loadingMore = true;
    try {
      const { conversation } = await request(POSTS_BEFORE, {
        id: this.conversationId,
        last: PAGE_SIZE,
        before: this._earlierCursor,
      });
      if (loadToken !== this._loadToken || !conversation) return;
      const scroller = this.renderRoot.querySelector('.scroller');
      this._scrollMode = {
        kind: 'anchor',
        fromBottom: scroller.scrollHeight - scroller.scrollTop,
      };
      this._posts = [...conversation.posts.edges.map(toItem), ...this._posts];
      const { pageInfo } = conversation.posts;
      this._earlierCursor = pageInfo.hasPreviousPage ? pageInfo.startCursor : null;
    } catch (error) {
      emitError(this, error);
    } finally {
      this._loadingMore = false;
    }
  }

  async #loadLater() {
    if (this._loadingMore || !this._laterCursor) return;
    const loadToken = this._loadToken;
    this._loadingMore = true;
    try {
      const { conversation } = await request(POSTS_AFTER, {
        id: this.conversationId,
        first: PAGE_SIZE,
        after: this._laterCursor,
      });
      if (loadToken !== this._loadToken || !conversation) return;
      const fresh = conversation.posts.edges.map(toItem);
      this._posts = [...this._posts, ...fresh];
      const { pageInfo } = conversation.posts;
      this._laterCursor = pageInfo.hasNextPage ? pageInfo.endCursor : null;
      for (const post of fresh) if (LIVE_STATUSES.has(post.status)) this.#reattach(post);
    } catch (error) {
      emitError(this, error);
    } finally {
      this._loadingMore = false;
    }
  }

  #onScroll(event) {
    const scroller = event.target;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
    if (Math.abs(scroller.scrollTop - this._expectedScrollTop) > 2) {
      // The reader scrolled: follow new text only if they went back to the bottom.
      this._scrollMode = {
        kind: fromBottom < NEAR_BOTTOM_PX ? 'bottom' : 'free',
      };
      this._expectedScrollTop = scroller.scrollTop;
    }
    if (scroller.scrollTop < 120 && this._earlierCursor && !this._loadingMore && !this._loading) {
      this.#loadEarlier();
    }
    if (fromBottom < 120 && this._laterCursor && !this._loadingMore && !this._loading) {
      this.#loadLater();
    }
  }

  // Sending and streaming -------------------------------------------------------------------

  async #send(event) {
    if (this._sending || this.#streaming) return;
    const { prompt } = event.detail;
    this._sending = true;
    let conversationId = this.conversationId;
    try {
      if (this._laterCursor) await this.#jumpToLatest();
      if (!conversationId && this._newInstructions && !this._conversation) {
        // Created now, adopted once the prompt is accepted (see #accepted).
        const { createConversation } = await request(CREATE_CONVERSATION, {
          title: titleFrom(prompt),
          instructions: this._newInstructions,
        });
        this._conversation = createConversation;
      }
      conversationId ??= this._conversation?.id ?? null;
    } catch (error) {
      this._sending = false;
      emitError(this, error);
      return;
    }
    const placeholder = {
      key: `local-${++this._localIds}`,
      id: null,
      local: true,
      prompt,
      body: '',
      status: 'PENDING',
      createdAt: new Date().toISOString(),
    };
    this._scrollMode = { kind: 'bottom' };
    this._posts = [...this._posts, placeholder];
    const options = generationOptions(this._options ?? {});
    this.#follow({ prompt: { conversationId, prompt, options } }, placeholder.key);
  }

  async #jumpToLatest() {
    const page = await this.#fetchLatest();
    if (!page) return;
    this._posts = page.posts;
    this._earlierCursor = page.earlierCursor;
    this._laterCursor = null;
  }

  /** Re-attach to an answer that was being written before this page loaded it. */
  #reattach(post) {
    this.#follow({ postId: post.id }, post.key);
  }

  #follow(target, key) {
    const cancel = followAnswer(this.client, target, {
      onPost: (post) => {
        const item = this.#item(key);
        if (item?.local) this.#accepted(post);
        this.#patch(key, { ...post, local: false });
      },
      onText: (text) => this.#patch(key, { body: text }),
      onDone: (post, text) => {
        this._streams.delete(key);
        this.#patch(key, { ...post, body: text, local: false });
        emit(this, 'answer-complete', { post, text });
        // The post shows the detailed reason; the toast says what it means. The API marks
        // answers cut off by its own restart with finishReason "interrupted".
        if (post.status === 'FAILED') {
          const interrupted = post.finishReason === 'interrupted';
          emitError(
            this,
            new ApiError(interrupted ? 'INTERRUPTED' : 'LLM_UNAVAILABLE', post.error),
          );
        }
        this.#touchConversation();
      },
      onError: (error, post) => {
        this._streams.delete(key);
        const item = this.#item(key);
        if (item?.local) {
          // The server never acknowledged the prompt: drop the placeholder, keep the draft.
          this._posts = this._posts.filter((each) => each.key !== key);
          this._sending = false;
        } else if (item) {
          this.#patch(key, {
            ...(post ?? {}),
            status: 'FAILED',
            error: item.error ?? error.message,
          });
        }
        emitError(this, error);
      },
    });
    this._streams.set(key, cancel);
  }

  /** The server has the prompt: the draft can go, and a new chat now has an id. */
  #accepted(post) {
    this._sending = false;
    this.renderRoot.querySelector('prompt-composer')?.clear();
    if (!this.conversationId) {
      saveDraft(this.user.id, null, '');
      saveOptions(post.conversationId, this._options ?? {});
      saveOptions(null, {});
      this._conversation ??= {
        id: post.conversationId,
        title: titleFrom(post.prompt),
        instructions: null,
      };
      this.#adopt(post.conversationId);
    }
  }

  /** Become conversation `id` without reloading (we are the ones who created it). */
  #adopt(id) {
    this._adoptedId = id;
    this.conversationId = id;
    this._newInstructions = '';
    emit(this, 'conversation-created', { id });
  }

  async #stop() {
    const post = this._posts.find((each) => LIVE_STATUSES.has(each.status) && !each.local);
    if (!post) return;
    try {
      await request(STOP_GENERATION, { postId: post.id });
    } catch (error) {
      emitError(this, error);
    }
  }

  async #regenerate(event) {
    const old = event.detail.post;
    if (this.#streaming || this._sending) return;
    this._sending = true;
    try {
      const { regeneratePost } = await request(REGENERATE_POST, {
        postId: old.id,
        options: generationOptions(this._options ?? {}),
      });
      const item = { ...toItem({ node: regeneratePost }), body: '' };
      this._scrollMode = { kind: 'bottom' };
      this._posts = this._posts.map((each) => (each.key === old.key ? item : each));
      this.#follow({ postId: item.id }, item.key);
    } catch (error) {
      emitError(this, error);
    } finally {
      this._sending = false;
    }
  }

  #item(key) {
    return this._posts.find((post) => post.key === key);
  }

  #patch(key, changes) {
    this._posts = this._posts.map((post) => (post.key === key ? { ...post, ...changes } : post));
  }

  #cancelStreams() {
    for (const cancel of this._streams.values()) cancel();
    this._streams.clear();
  }

  #touchConversation() {
    if (!this._conversation) return;
    this._conversation = {
      ...this._conversation,
      updatedAt: new Date().toISOString(),
    };
    emit(this, 'conversation-changed', { conversation: this._conversation });
  }

  // Options ---------------------------------------------------------------------------------

  #changeOptions(event) {
    this._options = event.detail.options;
    saveOptions(this.conversationId, this._options);
  }

  async #saveInstructions(event) {
    const { instructions } = event.detail;
    if (!this._conversation) {
      this._newInstructions = instructions; // sent when the first prompt creates the chat
      emit(this, 'notice', { message: t('options.saved') });
      return;
    }
    this._savingInstructions = true;
    try {
      const { updateConversation } = await request(UPDATE_CONVERSATION, {
        id: this._conversation.id,
        instructions,
      });
      this._conversation = { ...this._conversation, ...updateConversation };
      emit(this, 'conversation-changed', { conversation: this._conversation });
      emit(this, 'notice', { message: t('options.saved') });
    } catch (error) {
      emitError(this, error);
    } finally {
      this._savingInstructions = false;
    }
  }
}

/** A connection edge as a list item; `key` stays put when a placeholder becomes a post. */
function toItem({ node }) {
  return { ...node, key: node.id };
}

customElements.define('chat-view', ChatView);
