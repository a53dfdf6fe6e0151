// Prompts on their way and answers being written, for the posts a PostPages holds.
import { followAnswer } from '../lib/answer-stream.js';
import { EDIT_PROMPT, REGENERATE_POST, STOP_GENERATION } from '../lib/operations.js';
import { isLive, toItem } from '../lib/posts.js';

/**
 * A reactive controller that sends prompts, follows answers into the posts of `pages`, and
 * stops following when its host leaves the page (the answers go on on the server).
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

  constructor(host, { pages, graphql, subscriptions, onAccepted, onFinished, onError }) {
    this.#host = host;
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
    this.#follow(
      { prompt: { conversationId: target, prompt, options, parentId } },
      placeholder.key,
    );
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

  async #newVersion(post, mutation, variables) {
    if (this.busy) return false;
    this.#setSending(true);
    try {
      const data = await this.#graphql().request(mutation, variables);
      const created = data.regeneratePost ?? data.editPrompt;
      this.#pages.replaceBranch(post.key, { ...toItem(created), body: '' });
      this.#follow({ postId: created.id }, post.key);
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
    for (const post of posts) if (isLive(post)) this.#follow({ postId: post.id }, post.key);
  }

  /** Stop following every answer and forget a prompt on its way (another conversation is
   * opened); the server carries on writing. */
  abandon() {
    for (const stop of this.#streams.values()) stop();
    this.#streams.clear();
    this.sending = false;
  }

  #follow(target, key) {
    const pages = this.#pages;
    const stop = followAnswer(this.#subscriptions(), target, {
      onPost: (post) => {
        if (pages.find(key)?.local) {
          this.#setSending(false);
          this.#handlers.onAccepted(post);
        }
        pages.patch(key, { ...post, local: false });
      },
      onText: (text) => pages.patch(key, { body: text }),
      onDone: (post, text) => {
        this.#streams.delete(key);
        pages.patch(key, { ...post, body: text, local: false });
        this.#handlers.onFinished(post, text);
      },
      onError: (error, post) => {
        this.#streams.delete(key);
        const item = pages.find(key);
        if (item?.local) {
          // The server never acknowledged the prompt: take it back out (the draft stays).
          pages.remove(key);
          this.#setSending(false);
        } else if (item) {
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
