// The posts of one conversation as far as they are loaded, a page at a time in either
// direction (the Relay connection's `before` and `after` cursors).
import { POSTS_AFTER, POSTS_BEFORE } from '../lib/operations.js';
import { toItem } from '../lib/posts.js';
import { branchFrom } from '../lib/versions.js';

const PAGE_SIZE = 20;

const DIRECTIONS = {
  earlier: {
    query: POSTS_BEFORE,
    variables: (cursor) => ({ last: PAGE_SIZE, before: cursor }),
    nextCursor: ({ hasPreviousPage, startCursor }) => (hasPreviousPage ? startCursor : null),
    join: (posts, page) => [...page, ...posts],
  },
  later: {
    query: POSTS_AFTER,
    variables: (cursor) => ({ first: PAGE_SIZE, after: cursor }),
    nextCursor: ({ hasNextPage, endCursor }) => (hasNextPage ? endCursor : null),
    join: (posts, page) => [...posts, ...page],
  },
};

/**
 * A reactive controller: the open conversation's record and its loaded posts, oldest first.
 *
 *   pages = new PostPages(this, { graphql: () => this.#graphql.value });
 *   await pages.open(id);                       // the newest page
 *   await pages.open(id, { around: cursor });   // the page before the post at cursor, and one from it
 *   const fresh = await pages.loadMore('earlier');   // or 'later'; [] when nothing was added
 *   pages.replaceBranch(key, post);             // an edit or a regeneration ends the branch at post
 *   const fresh = await pages.reloadFrom(key, postId);   // the branch the server made current
 *
 * `cursors.earlier` / `cursors.later` are null once that end is reached. Whatever is still
 * loading when `open()` is called again is dropped. Errors of the current load are thrown.
 */
export class PostPages {
  conversationId = null;
  conversation = null;
  posts = [];
  cursors = { earlier: null, later: null };
  loading = false;
  loadingMore = false;
  notFound = false;
  #host;
  #graphql;
  #loadToken = 0;

  constructor(host, { graphql }) {
    this.#host = host;
    this.#graphql = graphql;
    host.addController(this);
  }

  /** Show conversation `conversationId` (null: a new chat, nothing to load). Resolves to
   * false when a later `open()` took its place. */
  async open(conversationId, { around = null } = {}) {
    const loadToken = ++this.#loadToken;
    Object.assign(this, {
      conversationId,
      conversation: null,
      posts: [],
      cursors: { earlier: null, later: null },
      loadingMore: false,
      notFound: false,
      loading: Boolean(conversationId),
    });
    this.#host.requestUpdate();
    if (!conversationId) return true;
    try {
      const loaded = around ? await this.#fetchAround(around) : await this.#fetchLatest();
      if (loadToken !== this.#loadToken) return false;
      if (loaded) Object.assign(this, loaded);
      else this.notFound = true;
      return true;
    } catch (error) {
      if (loadToken !== this.#loadToken) return false;
      throw error;
    } finally {
      if (loadToken === this.#loadToken) {
        this.loading = false;
        this.#host.requestUpdate();
      }
    }
  }

  /** Add the next page towards `direction` ('earlier' or 'later'); returns its posts. */
  async loadMore(direction) {
    const cursor = this.cursors[direction];
    if (this.loading || this.loadingMore || !cursor) return [];
    const loadToken = this.#loadToken;
    this.loadingMore = true;
    this.#host.requestUpdate();
    try {
      const page = await this.#fetch(direction, cursor);
      if (loadToken !== this.#loadToken || !page) return [];
      this.posts = DIRECTIONS[direction].join(this.posts, page.posts);
      this.cursors = { ...this.cursors, [direction]: page.cursor };
      return page.posts;
    } finally {
      if (loadToken === this.#loadToken) this.loadingMore = false;
      this.#host.requestUpdate();
    }
  }

  /** Replace what is shown by the newest page (before a prompt is added at the end). */
  async showLatest() {
    const loadToken = this.#loadToken;
    const loaded = await this.#fetchLatest();
    if (loadToken !== this.#loadToken || !loaded) return;
    this.posts = loaded.posts;
    this.cursors = loaded.cursors;
    this.#host.requestUpdate();
  }

  /** Show `post`, a new version of the post keyed `key`, in its place: the branch now ends
   * with it (an edited prompt or a regenerated answer has no answers after it yet). */
  replaceBranch(key, post) {
    this.cursors = { ...this.cursors, later: null };
    this.#set(branchFrom(this.posts, key, [post]));
  }

  /**
   * The server's current branch now goes through `postId`, a version of the post keyed `key`:
   * the posts before it stay, and it and what follows it are loaded (a page of them). Without
   * the cursor of the post before it (one this page sent), the newest page is loaded instead.
   * Returns the posts loaded.
   */
  async reloadFrom(key, postId) {
    const loadToken = this.#loadToken;
    const at = this.posts.findIndex((post) => post.key === key);
    const before = this.posts[at - 1];
    const fromRoot = at === 0 && !this.cursors.earlier;
    if (at < 0 || !(fromRoot || before?.cursor)) {
      const loaded = await this.#fetchLatest();
      if (loadToken !== this.#loadToken || !loaded) return [];
      this.cursors = loaded.cursors;
      this.#set(loaded.posts.map((post) => (post.id === postId ? { ...post, key } : post)));
      return this.posts;
    }
    const page = await this.#fetch('later', fromRoot ? null : before.cursor);
    if (loadToken !== this.#loadToken || !page) return [];
    this.cursors = { ...this.cursors, later: page.cursor };
    this.#set(branchFrom(this.posts, key, page.posts));
    return this.posts.slice(at);
  }

  find(key) {
    return this.posts.find((post) => post.key === key);
  }

  append(post) {
    this.#set([...this.posts, post]);
  }

  replace(key, post) {
    this.#set(this.posts.map((each) => (each.key === key ? post : each)));
  }

  patch(key, changes) {
    this.#set(this.posts.map((post) => (post.key === key ? { ...post, ...changes } : post)));
  }

  remove(key) {
    this.#set(this.posts.filter((post) => post.key !== key));
  }

  /** Take in a change to the conversation's record made elsewhere (a rename). */
  updateConversation(changes) {
    if (!this.conversation) return;
    this.conversation = { ...this.conversation, ...changes };
    this.#host.requestUpdate();
  }

  /** Set the record of a conversation this page created (a new chat's first prompt). */
  setConversation(conversation) {
    this.conversation = conversation;
    this.#host.requestUpdate();
  }

  /** Become conversation `conversationId`, which this page has just created, without
   * loading it: what is shown is already it. */
  adopt(conversationId) {
    this.conversationId = conversationId;
    this.#host.requestUpdate();
  }

  #set(posts) {
    this.posts = posts;
    this.#host.requestUpdate();
  }

  async #fetchLatest() {
    const page = await this.#fetch('earlier', null);
    if (!page) return null;
    return {
      conversation: page.conversation,
      posts: page.posts,
      cursors: { earlier: page.cursor, later: null },
    };
  }

  async #fetchAround(cursor) {
    const earlier = await this.#fetch('earlier', cursor);
    if (!earlier) return null;
    const later = await this.#fetch('later', earlier.lastCursor);
    if (!later) return null;
    return {
      conversation: earlier.conversation,
      posts: [...earlier.posts, ...later.posts],
      cursors: { earlier: earlier.cursor, later: later.cursor },
    };
  }

  async #fetch(direction, cursor) {
    const { query, variables, nextCursor } = DIRECTIONS[direction];
    const { conversation } = await this.#graphql().request(query, {
      id: this.conversationId,
      ...variables(cursor),
    });
    if (!conversation) return null;
    const { posts, ...record } = conversation;
    return {
      conversation: record,
      posts: posts.edges.map((edge) => ({ ...toItem(edge.node), cursor: edge.cursor })),
      cursor: nextCursor(posts.pageInfo),
      lastCursor: posts.edges.at(-1)?.cursor ?? null,
    };
  }
}
