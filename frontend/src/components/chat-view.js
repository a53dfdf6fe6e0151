import { ContextConsumer, ContextProvider } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { createRef, ref } from 'lit/directives/ref.js';
import { AnswersInFlight } from '../controllers/answers-in-flight.js';
import { PostPages } from '../controllers/post-pages.js';
import { I18nController, t } from '../i18n/index.js';
import {
  graphqlContext,
  modelsContext,
  openConversationContext,
  subscriptionsContext,
} from '../lib/contexts.js';
import { copyText } from '../lib/clipboard.js';
import { ApiError } from '../lib/errors.js';
import { emit, emitError } from '../lib/events.js';
import { icons } from '../lib/icons.js';
import {
  CONVERSATION,
  CREATE_CONVERSATION,
  MODELS,
  SELECT_BRANCH,
  UPDATE_CONVERSATION,
} from '../lib/operations.js';
import { loadOptions, saveOptions } from '../lib/preferences.js';
import { showsPost } from '../lib/versions.js';
import { titleFromPrompt } from '../lib/titles.js';
import { sharedStyles } from '../styles/shared.js';
import './model-picker.js';
import './confirm-dialog.js';
import './post-list.js';
import './prompt-composer.js';

/** The options the API takes, from what the panel stored (and a model, when one is asked). */
function generationOptions(stored, model = null) {
  const options = model ? { model } : {};
  if (stored.language) options.language = stored.language;
  if (stored.format) options.format = stored.format;
  if (stored.maxTokens) options.maxTokens = stored.maxTokens;
  if (typeof stored.temperature === 'number') options.temperature = stored.temperature;
  return Object.keys(options).length ? options : null;
}

// What an empty chat offers to start with (message keys; the text goes in the box).
const STARTERS = [
  'chat.starter.explain',
  'chat.starter.write',
  'chat.starter.plan',
  'chat.starter.code',
];
const TOUCH = window.matchMedia('(hover: none) and (pointer: coarse)');
const PAGE_TITLE = document.title;
// When to look again for the title the server has the model write after a first answer.
const TITLE_CHECKS_MS = [1500, 5000];

/**
 * The conversation the URL opens (from `openConversationContext`): its posts, loaded page
 * by page (PostPages), the answer being written (AnswersInFlight), the composer and the
 * options panel, and the model picker (its models shared below through `modelsContext`). No
 * conversation is a new chat, which the first prompt creates. A post's prompt can be edited
 * and its answer regenerated (new versions, whose branch becomes current), and its versions
 * flipped through: the server's current branch follows what is shown.
 *
 *   <chat-view></chat-view>
 *
 * Call `focusComposer()` to put the focus in the prompt box, and `conversationChanged()`
 * with a conversation renamed elsewhere.
 *
 * @fires conversation-created - {id}: the first prompt of a new chat created conversation id
 * @fires conversation-changed - {conversation}: its instructions or model changed, or an answer ended
 *   (so it was active just now)
 * @fires answer-complete - {post, text}: an answer ended, complete, stopped or failed
 * @fires toggle-sidebar - {}: the phone layout's menu button was pressed
 * @fires notice - {message}: the instructions were saved
 * @fires api-error - {error}: a request or an answer failed
 */
export class ChatView extends LitElement {
  static properties = {
    _optionsOpen: { state: true },
    _options: { state: true },
    _newInstructions: { state: true },
    _savingInstructions: { state: true },
    _highlightedId: { state: true },
    _models: { state: true },
    _newModel: { state: true },
    _switching: { state: true },
    _shareOpen: { state: true },
    _confirmDiscard: { state: true },
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
      header model-picker {
        flex: none;
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
        position: relative;
        padding: 0.75rem 1rem 0;
      }
      .options .close-options {
        position: absolute;
        top: 1rem;
        right: 1.25rem;
        z-index: 1;
      }
      .options-backdrop {
        display: none;
      }
      post-list,
      .placeholder {
        flex: 1;
        min-height: 0;
      }
      .placeholder {
        overflow-y: auto;
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
      .starters {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr));
        gap: 0.5rem;
        margin: 1.5rem 0 0;
        padding: 0;
        list-style: none;
      }
      .starters button {
        width: 100%;
        height: 100%;
        text-align: left;
        color: var(--fg);
        padding: 0.6rem 0.8rem;
      }
      .skeleton {
        max-width: 48rem;
        margin: 0 auto;
        padding: 1.25rem 1rem;
        display: flex;
        flex-direction: column;
        gap: 0.75rem;
      }
      .bone {
        height: 1rem;
        border-radius: 6px;
        background: linear-gradient(90deg, var(--bg-soft), var(--border), var(--bg-soft));
        background-size: 200% 100%;
        animation: shimmer 1.2s linear infinite;
      }
      .bone.prompt {
        align-self: flex-end;
        width: 40%;
        height: 2.25rem;
      }
      .bone.short {
        width: 60%;
      }
      .bone.gap {
        margin-bottom: 1rem;
      }
      @keyframes shimmer {
        to {
          background-position: -200% 0;
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .bone {
          animation: none;
        }
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
        .composer {
          padding-left: 0.6rem;
          padding-right: 0.6rem;
        }
        /* On a phone the options are a sheet over the chat, not a block that pushes it away. */
        .options {
          position: fixed;
          inset: auto 0 0 0;
          z-index: 8;
          max-height: 80vh;
          overflow-y: auto;
          padding: 0.5rem 0.5rem calc(0.5rem + env(safe-area-inset-bottom));
          background: var(--bg);
          border-radius: var(--radius) var(--radius) 0 0;
          box-shadow: 0 -4px 24px rgb(0 0 0 / 30%);
        }
        .options .close-options {
          top: 0.75rem;
          right: 0.75rem;
        }
        .options-backdrop {
          display: block;
          position: fixed;
          inset: 0;
          z-index: 7;
          background: rgb(0 0 0 / 40%);
        }
      }
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });
  #subscriptions = new ContextConsumer(this, { context: subscriptionsContext });
  #pages = new PostPages(this, { graphql: () => this.#graphql.value });
  #answers = new AnswersInFlight(this, {
    pages: this.#pages,
    graphql: () => this.#graphql.value,
    subscriptions: () => this.#subscriptions.value,
    onAccepted: (post) => this.#accepted(post),
    onFinished: (post, text) => this.#finished(post, text),
    onError: (error) => emitError(this, error),
  });
  #modelsProvider = new ContextProvider(this, { context: modelsContext, initialValue: [] });
  #composer = createRef();
  #postList = createRef();
  // The id of the conversation this view created itself: when the URL comes to name it,
  // what is shown already is that conversation.
  #adoptedId = null;
  #loads = 0; // #load calls, so that one overtaken while it selects a branch stops

  constructor() {
    super();
    this._optionsOpen = false;
    this._shareOpen = false;
    this._newInstructions = '';
    this._models = [];
    this._newModel = null;
    this._switching = false;
    new I18nController(this);
    new ContextConsumer(this, {
      context: openConversationContext,
      subscribe: true,
      callback: (open) => this.#open(open),
    });
  }

  connectedCallback() {
    super.connectedCallback();
    this.#loadModels();
  }

  /** Put the focus in the prompt box. */
  focusComposer() {
    this.#composer.value?.focus();
  }

  /** Stop the answer being written, if there is one the server is writing. */
  stopAnswer() {
    const live = this.#answers.live;
    if (live && !live.local) this.#answers.stop();
  }

  /** Copy the newest answer shown (a keyboard shortcut), saying what happened. */
  async copyLastAnswer() {
    const post = this.#pages.posts.findLast((each) => each.body);
    if (!post) {
      emit(this, 'notice', { message: t('shortcuts.nothingToCopy') });
      return;
    }
    try {
      await copyText(post.body);
      emit(this, 'notice', { message: t('post.copied') });
    } catch {
      emit(this, 'notice', { message: t('markdown.copyFailed') });
    }
  }

  /** Take in a change made elsewhere (a rename in the sidebar) to the open conversation. */
  conversationChanged(conversation) {
    if (this.#pages.conversation?.id === conversation.id) {
      this.#pages.updateConversation(conversation);
    }
  }

  updated() {
    // The tab says which conversation it shows.
    const title = this.#pages.conversation?.title;
    document.title = title ? `${title} · ${PAGE_TITLE}` : PAGE_TITLE;
  }

  // Loaded when first opened: not part of the page's first load.
  #openShare = async () => {
    try {
      await import('./share-dialog.js');
    } catch {
      emitError(this, new ApiError('NETWORK', t('error.NETWORK')));
      return;
    }
    this._shareOpen = true;
  };

  render() {
    const conversation = this.#pages.conversation;
    const live = this.#answers.live;
    const sending = this.#answers.sending;
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
        <h1>${conversation?.title ?? t('chat.newChat')}</h1>
        ${
          this._models.length > 1
            ? html`<model-picker
                .models=${this._models}
                .value=${(conversation ? conversation.model : this._newModel) ?? null}
                @model-change=${this.#changeModel}
                @models-refresh=${this.#loadModels}
              ></model-picker>`
            : nothing
        }
        <button
          type="button"
          class="quiet options-toggle"
          aria-expanded=${this._optionsOpen ? 'true' : 'false'}
          aria-controls="options"
          @click=${() => (this._optionsOpen ? this.#closeOptions() : this.#openOptions())}
        >
          ${icons.sliders}<span class="label">${t('chat.options')}</span>
          <span class="visually-hidden">${t('chat.optionsHint')}</span>
        </button>
        ${
          conversation
            ? html`<button
                type="button"
                class="quiet share"
                aria-haspopup="dialog"
                aria-label=${t('share.button')}
                @click=${this.#openShare}
              >
                ${icons.share}<span class="label">${t('share.button')}</span>
              </button>`
            : nothing
        }
      </header>
      <share-dialog
        ?open=${this._shareOpen && Boolean(conversation)}
        .conversation=${conversation}
        @close=${() => (this._shareOpen = false)}
      ></share-dialog>
      ${
        this._optionsOpen
          ? html`<div class="options-backdrop" @click=${this.#closeOptions}></div>
              <section
                id="options"
                class="options"
                aria-label=${t('chat.options')}
                @keydown=${this.#onOptionsKeyDown}
              >
                <button
                  type="button"
                  class="quiet icon close-options"
                  aria-label=${t('chat.closeOptions')}
                  title=${t('chat.closeOptions')}
                  @click=${this.#closeOptions}
                >
                  ${icons.close}
                </button>
                <options-panel
                  .instructions=${conversation ? (conversation.instructions ?? '') : this._newInstructions}
                  .options=${this._options}
                  ?saving=${this._savingInstructions}
                  @instructions-save=${this.#saveInstructions}
                  @options-change=${this.#changeOptions}
                ></options-panel>
              </section>`
          : nothing
      }
      <confirm-dialog
        .open=${this._confirmDiscard}
        .message=${t('chat.discardInstructions')}
        .confirmLabel=${t('chat.discard')}
        @confirm=${() => this.#closeOptions({ discard: true })}
        @cancel=${() => (this._confirmDiscard = false)}
      ></confirm-dialog>
      ${this.#renderPosts()}
      <div class="composer">
        <prompt-composer
          ${ref(this.#composer)}
          .conversationId=${this.#pages.conversationId}
          ?sending=${sending}
          ?streaming=${Boolean(live) && !sending}
          ?canStop=${Boolean(live && !live.local)}
          @send=${this.#send}
          @stop=${() => this.#answers.stop()}
        ></prompt-composer>
      </div>
    `;
  }

  #renderPosts() {
    const pages = this.#pages;
    if (pages.loading) {
      return html`<div class="placeholder" aria-busy="true">
        <p class="visually-hidden" role="status">${t('chat.loading')}</p>
        <div class="skeleton" aria-hidden="true">
          <div class="bone prompt"></div>
          <div class="bone"></div>
          <div class="bone short gap"></div>
          <div class="bone prompt"></div>
          <div class="bone"></div>
          <div class="bone"></div>
          <div class="bone short"></div>
        </div>
      </div>`;
    }
    if (pages.notFound) {
      return html`<div class="placeholder">
        <div class="empty">
          <h2>${t('chat.notFound')}</h2>
          <p><a href="#/">${t('chat.startNew')}</a></p>
        </div>
      </div>`;
    }
    if (pages.posts.length === 0) {
      return html`<div class="placeholder">
        <div class="empty">
          <h2>${t('chat.emptyTitle')}</h2>
          <p>${TOUCH.matches ? t('chat.emptyBodyTouch') : t('chat.emptyBody')}</p>
          <ul class="starters" aria-label=${t('chat.starters')}>
            ${STARTERS.map(
              (key) =>
                html`<li>
                  <button type="button" @click=${() => this.#composer.value?.setText(t(key))}>
                    ${t(key)}
                  </button>
                </li>`,
            )}
          </ul>
        </div>
      </div>`;
    }
    return html`<post-list
      ${ref(this.#postList)}
      .posts=${pages.posts}
      ?hasEarlier=${Boolean(pages.cursors.earlier)}
      ?hasLater=${Boolean(pages.cursors.later)}
      ?loadingMore=${pages.loadingMore}
      ?busy=${this.#answers.busy || this._switching}
      .highlightedId=${this._highlightedId}
      @load-more=${this.#loadMore}
      @regenerate=${this.#regenerate}
      @continue-answer=${this.#continueAnswer}
      @edit-prompt=${this.#editPrompt}
      @switch-version=${this.#switchVersion}
    ></post-list>`;
  }

  // Loading ---------------------------------------------------------------------------------

  #open({ conversationId, focusPost }) {
    const adopted = conversationId && conversationId === this.#adoptedId && !focusPost;
    this.#adoptedId = null;
    if (!adopted) this.#load(conversationId, focusPost);
  }

  async #load(conversationId, focusPost) {
    this.#answers.abandon();
    this._highlightedId = focusPost?.postId ?? null;
    this._options = loadOptions(conversationId);
    this._newModel = null;
    const load = ++this.#loads;
    let current = true;
    try {
      const around = focusPost?.cursor ?? null;
      current = await this.#pages.open(conversationId, { around });
      if (current && focusPost && !showsPost(this.#pages.posts, focusPost.postId)) {
        // A prompt found by a search, on a branch other than the current one: that branch
        // becomes current, so that the page around the prompt is its own.
        await this.#selectBranchOf(focusPost.postId);
        if (load !== this.#loads) return;
        current = await this.#pages.open(conversationId, { around });
      }
      if (current) this.#answers.reattach(this.#pages.posts);
    } catch (error) {
      emitError(this, error);
    }
    if (current) this.#markReady();
  }

  async #selectBranchOf(postId) {
    try {
      await this.#graphql.value.request(SELECT_BRANCH, { postId });
    } catch {
      // Opening the conversation says what is wrong (not found, offline).
    }
  }

  async #loadMore(event) {
    try {
      const fresh = await this.#pages.loadMore(event.detail.direction);
      this.#answers.reattach(fresh);
    } catch (error) {
      emitError(this, error);
    }
  }

  /**
   * Record when the page first shows a usable conversation (the `chat-ready` performance
   * mark, read by bench/bench_frontend.py): its posts rendered and the composer enabled.
   */
  async #markReady() {
    if (performance.getEntriesByName('chat-ready').length) return;
    await this.updateComplete;
    await this.#postList.value?.updateComplete;
    if (!performance.getEntriesByName('chat-ready').length) performance.mark('chat-ready');
  }

  // Sending and streaming -------------------------------------------------------------------

  #send(event) {
    if (this.#answers.busy) return;
    const { prompt } = event.detail;
    this.#postList.value?.followBottom();
    this.#answers.ask(prompt, {
      options: generationOptions(
        this._options ?? {},
        this.#pages.conversationId ? null : this._newModel,
      ),
      conversationId: () => this.#conversationFor(prompt),
    });
  }

  /** Where a prompt goes: the open conversation, at its newest post, or a new one. */
  async #conversationFor(prompt) {
    const pages = this.#pages;
    if (pages.cursors.later) await pages.showLatest();
    if (!pages.conversationId && this._newInstructions && !pages.conversation) {
      // Created now, adopted once the prompt is accepted (see #accepted).
      const { createConversation } = await this.#graphql.value.request(CREATE_CONVERSATION, {
        title: titleFromPrompt(prompt),
        instructions: this._newInstructions,
        model: this._newModel,
      });
      pages.setConversation(createConversation);
    }
    return pages.conversationId ?? pages.conversation?.id ?? null;
  }

  async #regenerate(event) {
    if (this.#answers.busy) return;
    const { post, model } = event.detail;
    this.#postList.value?.followBottom();
    await this.#answers.regenerate(post, {
      options: generationOptions(this._options ?? {}, model),
    });
  }

  async #continueAnswer(event) {
    if (this.#answers.busy) return;
    this.#postList.value?.followBottom();
    await this.#answers.continueAnswer(event.detail.post);
  }

  async #editPrompt(event) {
    if (this.#answers.busy) return;
    const { post, prompt } = event.detail;
    this.#postList.value?.followBottom();
    await this.#answers.edit(post, prompt, { options: generationOptions(this._options ?? {}) });
  }

  /** Show another version of a post: the server's current branch goes through it. */
  async #switchVersion(event) {
    if (this.#answers.busy || this._switching) return;
    const { post, postId } = event.detail;
    this._switching = true;
    try {
      await this.#graphql.value.request(SELECT_BRANCH, { postId });
      this.#answers.reattach(await this.#pages.reloadFrom(post.key, postId));
    } catch (error) {
      emitError(this, error);
    } finally {
      this._switching = false;
    }
  }

  /** The server has the prompt: the draft can go, and a new chat now has an id. */
  #accepted(post) {
    this.#composer.value?.clear();
    if (this.#pages.conversationId) return;
    saveOptions(post.conversationId, this._options ?? {});
    saveOptions(null, {});
    if (!this.#pages.conversation) {
      this.#pages.setConversation({
        id: post.conversationId,
        title: titleFromPrompt(post.prompt),
        instructions: null,
        model: this._newModel ?? post.model ?? null,
      });
    }
    // Become that conversation without loading it again: we are the ones who created it.
    this.#adoptedId = post.conversationId;
    this.#pages.adopt(post.conversationId);
    this._newInstructions = '';
    this._newModel = null;
    emit(this, 'conversation-created', { id: post.conversationId });
  }

  #finished(post, text) {
    emit(this, 'answer-complete', { post, text });
    // The post shows the detailed reason; the toast says what it means. The API marks
    // answers cut off by its own restart with finishReason "interrupted".
    if (post.status === 'FAILED') {
      const interrupted = post.finishReason === 'interrupted';
      emitError(this, new ApiError(interrupted ? 'INTERRUPTED' : 'LLM_UNAVAILABLE', post.error));
    }
    if (this.#pages.conversation) {
      this.#pages.updateConversation({ updatedAt: new Date().toISOString() });
      emit(this, 'conversation-changed', { conversation: this.#pages.conversation });
    }
    const first = !post.parentId && this.#pages.posts.length <= 1;
    if (post.status === 'COMPLETE' && first && post.conversationId) {
      this.#watchForTitle(post.conversationId);
    }
  }

  /** After a first answer the server asks the model for a title, in the background: show
   * it in the header and the sidebar once it is there. */
  #watchForTitle(conversationId) {
    for (const delay of TITLE_CHECKS_MS) {
      setTimeout(async () => {
        const shown = this.#pages.conversation;
        if (shown?.id !== conversationId) return;
        try {
          const { conversation } = await this.#graphql.value.request(CONVERSATION, {
            id: conversationId,
          });
          if (!conversation || conversation.title === this.#pages.conversation?.title) return;
          if (this.#pages.conversation?.id !== conversationId) return;
          this.#pages.updateConversation({ title: conversation.title });
          emit(this, 'conversation-changed', { conversation: this.#pages.conversation });
        } catch {
          // The title written from the prompt stays; nothing was lost.
        }
      }, delay);
    }
  }

  // Models and options ----------------------------------------------------------------------

  async #openOptions() {
    try {
      await import('./options-panel.js'); // loaded when first opened, not with the page
    } catch {
      emitError(this, new ApiError('NETWORK', t('error.NETWORK')));
      return;
    }
    this._optionsOpen = true;
    await this.updateComplete;
    await this.renderRoot.querySelector('options-panel')?.updateComplete;
    this.renderRoot.querySelector('options-panel')?.renderRoot?.querySelector('textarea')?.focus();
  }

  /** Close the options (asking first when the instructions have unsaved text); the focus
   * goes back to the Options button. */
  async #closeOptions({ discard = false } = {}) {
    this._confirmDiscard = false;
    const panel = this.renderRoot.querySelector('options-panel');
    if (!discard && panel?.dirty) {
      this._confirmDiscard = true;
      return;
    }
    this._optionsOpen = false;
    await this.updateComplete;
    this.renderRoot.querySelector('.options-toggle')?.focus();
  }

  #onOptionsKeyDown(event) {
    if (event.key !== 'Escape' || event.defaultPrevented) return;
    event.preventDefault();
    event.stopPropagation();
    this.#closeOptions();
  }

  async #loadModels() {
    try {
      const { models } = await this.#graphql.value.request(MODELS);
      this._models = models;
      this.#modelsProvider.setValue(models);
    } catch {
      // Without the list the picker is not shown; prompts go to the conversation's model.
    }
  }

  async #changeModel(event) {
    const { model } = event.detail;
    const conversation = this.#pages.conversation;
    if (!conversation) {
      this._newModel = model; // sent with the first prompt, which creates the chat
      return;
    }
    try {
      const { updateConversation } = await this.#graphql.value.request(UPDATE_CONVERSATION, {
        id: conversation.id,
        model,
      });
      this.#pages.updateConversation(updateConversation);
      emit(this, 'conversation-changed', { conversation: this.#pages.conversation });
    } catch (error) {
      emitError(this, error);
      this.requestUpdate(); // the picker shows the model the conversation still has
    }
  }

  #changeOptions(event) {
    this._options = event.detail.options;
    saveOptions(this.#pages.conversationId, this._options);
  }

  async #saveInstructions(event) {
    const { instructions } = event.detail;
    const conversation = this.#pages.conversation;
    if (!conversation) {
      this._newInstructions = instructions; // sent when the first prompt creates the chat
      emit(this, 'notice', { message: t('options.saved') });
      return;
    }
    this._savingInstructions = true;
    try {
      const { updateConversation } = await this.#graphql.value.request(UPDATE_CONVERSATION, {
        id: conversation.id,
        instructions,
      });
      this.#pages.updateConversation(updateConversation);
      emit(this, 'conversation-changed', { conversation: this.#pages.conversation });
      emit(this, 'notice', { message: t('options.saved') });
    } catch (error) {
      emitError(this, error);
    } finally {
      this._savingInstructions = false;
    }
  }
}

customElements.define('chat-view', ChatView);
