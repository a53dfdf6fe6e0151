// Where the reader is in a scrolling list of posts that grows at both ends and while an
// answer is written.

const NEAR_BOTTOM_PX = 80;
const NEAR_EDGE_PX = 120;
// Room left above a prompt brought to the top, for its outline.
const FOCUS_MARGIN_PX = 12;

/**
 * A reactive controller that keeps the scroll position where the reader expects it: at the
 * bottom while following the conversation, still over the same posts after earlier ones are
 * put above, on a post opened from a search, and wherever the reader scrolled otherwise.
 *
 *   scroll = new ScrollFollower(this, {
 *     scroller: () => this.renderRoot.querySelector('.scroller'),
 *     content: () => this.renderRoot.querySelector('.posts'),
 *     post: (id) => this.renderRoot.querySelector(`post-item[data-id="${CSS.escape(id)}"]`),
 *     onNearEdge: (edge) => {},   // 'top' or 'bottom': the reader is close to that end
 *   });
 *   html`<div class="scroller" @scroll=${scroll.onScroll}>...`
 *
 * It starts at the bottom.
 */
export class ScrollFollower {
  #host;
  #scroller;
  #content;
  #post;
  #onNearEdge;
  #mode = { kind: 'bottom' };
  #expectedScrollTop = 0;
  #resizeObserver = null;
  #observed = null;

  constructor(host, { scroller, content, post, onNearEdge }) {
    this.#host = host;
    this.#scroller = scroller;
    this.#content = content;
    this.#post = post;
    this.#onNearEdge = onNearEdge;
    host.addController(this);
  }

  hostConnected() {
    // Posts render in their own update cycles, so the list grows after its host has
    // updated: apply the rule again whenever the content's size changes.
    this.#resizeObserver = new ResizeObserver(() => this.#apply());
  }

  hostDisconnected() {
    this.#resizeObserver?.disconnect();
    this.#observed = null;
  }

  hostUpdated() {
    const content = this.#content();
    if (content !== this.#observed) {
      this.#resizeObserver.disconnect();
      if (content) this.#resizeObserver.observe(content);
      this.#observed = content;
    }
    this.#apply();
  }

  /** Stay at the bottom as the list grows (the reader just sent a prompt). */
  followBottom() {
    this.#mode = { kind: 'bottom' };
    this.#host.requestUpdate();
  }

  /** Keep the posts shown where they are while posts are put above them; call it before. */
  holdPosition() {
    const scroller = this.#scroller();
    if (!scroller) return;
    this.#mode = { kind: 'anchor', fromBottom: scroller.scrollHeight - scroller.scrollTop };
  }

  /** Bring post `postId`'s prompt to the top of the view (a search hit). */
  focusOn(postId) {
    this.#mode = { kind: 'focus', postId };
    this.#host.requestUpdate();
  }

  onScroll = (event) => {
    const scroller = event.target;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
    if (Math.abs(scroller.scrollTop - this.#expectedScrollTop) > 2) {
      // The reader scrolled: follow new text only if they went back to the bottom.
      this.#mode = { kind: fromBottom < NEAR_BOTTOM_PX ? 'bottom' : 'free' };
      this.#expectedScrollTop = scroller.scrollTop;
    }
    if (scroller.scrollTop < NEAR_EDGE_PX) this.#onNearEdge('top');
    if (fromBottom < NEAR_EDGE_PX) this.#onNearEdge('bottom');
  };

  #apply() {
    const scroller = this.#scroller();
    if (!scroller) return;
    const mode = this.#mode;
    if (mode.kind === 'bottom') {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (mode.kind === 'anchor') {
      scroller.scrollTop = scroller.scrollHeight - mode.fromBottom;
    } else if (mode.kind === 'focus') {
      const post = this.#post(mode.postId);
      // Only the list's own box scrolls: scrollIntoView would also move the page around it
      // (on a phone, past the prompt into the answer).
      const target = post?.shadowRoot?.querySelector('.prompt') ?? post;
      if (target) {
        const offset = target.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
        scroller.scrollTop += offset - FOCUS_MARGIN_PX;
      }
    }
    this.#expectedScrollTop = scroller.scrollTop;
  }
}
