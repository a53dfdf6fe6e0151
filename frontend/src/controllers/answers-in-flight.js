// Prompts on their way and answers being written, for the posts a PostPages holds.
import { followAnswer } from '../lib/answer-stream.js';
import {
  CONTINUE_POST,
  EDIT_PROMPT,
  REGENERATE_POST,
  START_PROMPT,
  STOP_GENERATION,
} from '../lib/operations.js';
import { isLive, toItem } from '../lib/posts.js';

// A start lost on the network is sent again with the same clientId: the server answers with
// the post it already started, and the model gets the prompt once.
const START_RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000];

/**
 * A reactive controller that sends prompts (startPrompt), follows answers (postStream) into
 * the posts of `pages`, and stops following when its host leaves the page (the answers go on
 * on the server).
 *
 *   answers = new AnswersInFlight(this, {
 *     pages, graphql: () => client, subscriptions: () => subscriptionClient,
 *     onAccepted(post) {},       // the server has a prompt sent by ask(): it is post
 *     onFinished(post, text) {}, // an answer ended (COMPLETE, CANCELLED or FAILED)
 *     onError(error) {},         // something went wrong; a refused prompt is taken back out
 *   });
 *   answers.ask('Hello', { options, conversationId: async () => id });
 *   answers.edit(post, 'Hello again', { options });   // a new version of post's prompt
 *   answers.regenerate(post, { options });            // a new version of post's answer
 *   answers.continueAnswer(post);                     // carry on an answer cut off
 *
 * `busy` is true from the moment a prompt is sent until its answer ends: one at a time.
 */
export class AnswersInFlight {
  /** A prompt or a regenerate request is on its way, not yet accepted by the server. */
  sending = false;
  #host;
  #pages;
  #graphql;
  #subscriptions;
  #handlers;
  #streams = new Map(); // post key -> stop following
  #placeholders = 0;
  #abandoned = 0; // counts abandon(): a start that returns after one is not followed here
  #wait;

  constructor(
    host,
    { pages, graphql, subscriptions, onAccepted, onFinished, onError, wait = sleep },
  ) {
    this.#host = host;
    this.#wait = wait;
    this.#pages = pages;
    this.#graphql = graphql;
    this.#subscriptions = subscriptions;
    this.#handlers = { onAccepted, onFinished, onError };
    host.addController(this);
  }

  hostDisconnected() {
    this.abandon();
  }

  /** The post whose answer is being written, if any. */
  get live() {
    return this.#pages.posts.find(isLive);
  }

  get busy() {
    return this.sending || Boolean(this.live);
  }

  /**
   * Send `prompt`. `conversationId()` runs once the prompt counts as sent and says where it
   * goes (null: a new conversation); it may load or create things first. Until the server
   * accepts the prompt, the list shows it as a placeholder.
   */
  async ask(prompt, { options = null, conversationId }) {
    if (this.busy) return;
    this.#setSending(true);
    let target;
    try {
      target = await conversationId();
    } catch (error) {
      this.#setSending(false);
      this.#handlers.onError(error);
      return;
    }
    // Continue the branch shown here, whatever another tab has made current since.
    const parentId = target ? (this.#pages.posts.at(-1)?.id ?? null) : null;
    const placeholder = {
      key: `local-${++this.#placeholders}`,
      id: null,
      local: true,
      prompt,
      body: '',
      status: 'PENDING',
      createdAt: new Date().toISOString(),
    };
    this.#pages.append(placeholder);
    const abandoned = this.#abandoned;
    let post;
    try {
      post = await this.#start({ conversationId: target, prompt, options, parentId });
    } catch (error) {
      if (abandoned !== this.#abandoned) return;
      // The server never took the prompt: take it back out (the draft stays).
      this.#pages.remove(placeholder.key);
      this.#setSending(false);
      this.#handlers.onError(error);
      return;
    }
    if (abandoned !== this.#abandoned) return;
    this.#setSending(false);
    this.#handlers.onAccepted(post);
    this.#pages.patch(placeholder.key, { ...post, body: '', local: false });
    this.#follow(post.id, placeholder.key);
  }

  async #start(variables) {
    const clientId = newClientId();
    for (let attempt = 0; ; attempt += 1) {
      try {
        const { startPrompt } = await this.#graphql().request(START_PROMPT, {
          ...variables,
          clientId,
        });
        return startPrompt;
      } catch (error) {
        const delay = START_RETRY_DELAYS_MS[attempt];
        if (error?.code !== 'NETWORK' || delay === undefined) throw error;
        await this.#wait(delay);
      }
    }
  }

  /** Ask again for the answer of `post`: a new version, shown in its place (the earlier one
   * stays among its versions). `options.model` asks another model. */
  regenerate(post, { options = null } = {}) {
    return this.#newVersion(post, REGENERATE_POST, { postId: post.id, options });
  }

  /** Send `prompt` instead of `post`'s: a new version beside it, shown in its place.
   * Resolves to whether the server took it. */
  edit(post, prompt, { options = null } = {}) {
    return this.#newVersion(post, EDIT_PROMPT, { postId: post.id, prompt, options });
  }

  /** Carry on `post`'s answer, cut off by the length limit, in the same post. */
  async continueAnswer(post) {
    if (this.busy) return;
    this.#setSending(true);
    try {
      const { continuePost } = await this.#graphql().request(CONTINUE_POST, { postId: post.id });
      this.#pages.patch(post.key, { ...toItem(continuePost), key: post.key });
      this.#follow(continuePost.id, post.key);
    } catch (error) {
      this.#handlers.onError(error);
    } finally {
      this.#setSending(false);
    }
  }

  async #newVersion(post, mutation, variables) {
    if (this.busy) return false;
    this.#setSending(true);
    try {
      const data = await this.#graphql().request(mutation, variables);
      const created = data.regeneratePost ?? data.editPrompt;
      this.#pages.replaceBranch(post.key, { ...toItem(created), body: '' });
      this.#follow(created.id, post.key);
      return true;
    } catch (error) {
      this.#handlers.onError(error);
      return false;
    } finally {
      this.#setSending(false);
    }
  }

  /** Ask the server to stop the answer being written. */
  async stop() {
    const post = this.#pages.posts.find((each) => isLive(each) && !each.local);
    if (!post) return;
    try {
      await this.#graphql().request(STOP_GENERATION, { postId: post.id });
    } catch (error) {
      this.#handlers.onError(error);
    }
  }

  /** Follow again the answers among `posts` still being written (loaded after a reload). */
  reattach(posts) {
    for (const post of posts) if (isLive(post)) this.#follow(post.id, post.key);
  }

  /** Stop following every answer and forget a prompt on its way (another conversation is
   * opened); the server carries on writing. */
  abandon() {
    for (const stop of this.#streams.values()) stop();
    this.#streams.clear();
    this.#abandoned += 1;
    this.sending = false;
  }

  #follow(postId, key) {
    const pages = this.#pages;
    const stop = followAnswer(this.#subscriptions(), postId, {
      onPost: (post) => pages.patch(key, post),
      onText: (text) => pages.patch(key, { body: text }),
      onDone: (post, text) => {
        this.#streams.delete(key);
        pages.patch(key, { ...post, body: text });
        this.#handlers.onFinished(post, text);
      },
      onError: (error, post) => {
        this.#streams.delete(key);
        const item = pages.find(key);
        if (item) {
          pages.patch(key, {
            ...(post ?? {}),
            status: 'FAILED',
            error: item.error ?? error.message,
          });
        }
        this.#handlers.onError(error);
      },
    });
    this.#streams.set(key, stop);
  }

  #setSending(sending) {
    this.sending = sending;
    this.#host.requestUpdate();
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// 128 random bits in hex: crypto.randomUUID() exists only in secure contexts, and a
// self-hosted page is often served over plain HTTP on a local network.
function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
