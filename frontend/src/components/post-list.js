import { css, html, LitElement, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { ScrollFollower } from '../controllers/scroll-follower.js';
import { I18nController, t } from '../i18n/index.js';
import { emit } from '../lib/events.js';
import { icons } from '../lib/icons.js';

// How far up the reader must be for "Jump to latest" to show.
const JUMP_AFTER_PX = 200;
import { sharedStyles } from '../styles/shared.js';
import './post-item.js';

/**
 * The loaded posts of a conversation in a box of their own that scrolls: it follows the
 * answer being written while the reader is at the bottom, keeps the posts in view in place
 * when earlier ones are added above, and brings `highlightedId` into view. Reaching an end
 * (or its button) asks for the next page.
 *
 *   <post-list .posts=${posts} ?hasEarlier=${true} ?hasLater=${false} ?loadingMore=${false}
 *              ?busy=${false} .highlightedId=${id}></post-list>
 *
 * `busy` (a prompt or an answer in flight) disables regenerating, editing and switching
 * versions. `updateComplete` also waits for every post to render.
 *
 * @fires load-more - {direction: 'earlier' | 'later'}: the reader scrolled near that end of
 *   the loaded posts, or pressed its "Load … messages" button
 * @fires regenerate - {post, model}: from a post-item (bubbles through), as are its
 *   edit-prompt and switch-version
 */
export class PostList extends LitElement {
  static properties = {
    posts: { attribute: false },
    hasEarlier: { type: Boolean },
    hasLater: { type: Boolean },
    loadingMore: { type: Boolean },
    busy: { type: Boolean },
    highlightedId: { type: String },
    _awayFromBottom: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        overflow-y: auto;
        overflow-anchor: none; /* the ScrollFollower decides */
        min-height: 0;
        container-type: inline-size;
      }
      /* Two versions side by side take some of the room beside the column, where there is. */
      post-item[comparing] {
        margin-inline: calc(-1 * clamp(0px, (100cqw - 48rem) / 2 - 1rem, 14rem));
      }
      .posts {
        max-width: 48rem;
        margin: 0 auto;
        padding: 0.5rem 1rem 1rem;
      }
      .jump {
        position: sticky;
        bottom: 0.75rem;
        display: flex;
        justify-content: center;
        height: 0;
        overflow: visible;
      }
      .jump button {
        transform: translateY(-100%);
        display: inline-flex;
        align-items: center;
        gap: 0.3rem;
        border-radius: 999px;
        box-shadow: 0 2px 8px rgb(0 0 0 / 20%);
      }
      .more {
        display: flex;
        justify-content: center;
        padding: 0.5rem;
      }
      @media (max-width: 768px) {
        .posts {
          padding-left: 0.6rem;
          padding-right: 0.6rem;
        }
      }
    `,
  ];

  #scroll = new ScrollFollower(this, {
    scroller: () => this,
    content: () => this.renderRoot.querySelector('.posts'),
    post: (id) => this.renderRoot.querySelector(`post-item[data-id="${CSS.escape(id)}"]`),
    onNearEdge: (edge) => this.#loadMore(edge === 'top' ? 'earlier' : 'later'),
  });

  constructor() {
    super();
    this.posts = [];
    this.hasEarlier = false;
    this.hasLater = false;
    this.loadingMore = false;
    this.busy = false;
    this.highlightedId = null;
    this._awayFromBottom = false;
    this.addEventListener('scroll', this.#scroll.onScroll);
    this.addEventListener('scroll', this.#onScroll, { passive: true });
    new I18nController(this);
  }

  /** Follow the bottom again (the reader has just sent a prompt). */
  followBottom() {
    this.#scroll.followBottom();
  }

  willUpdate(changed) {
    const before = changed.get('posts');
    if (changed.has('posts') && before && addedAbove(before, this.posts)) {
      this.#scroll.holdPosition();
    }
    if (changed.has('highlightedId') && this.highlightedId) {
      this.#scroll.focusOn(this.highlightedId);
    }
  }

  async getUpdateComplete() {
    const done = await super.getUpdateComplete();
    await Promise.all(
      [...this.renderRoot.querySelectorAll('post-item')].map((item) => item.updateComplete),
    );
    return done;
  }

  render() {
    return html`<div class="posts">
      ${this.hasEarlier ? this.#renderMore('earlier', t('chat.loadEarlier')) : nothing}
      ${repeat(
        this.posts,
        (post) => post.key,
        (post) =>
          html`<post-item
            data-id=${post.id}
            .post=${post}
            ?busy=${this.busy}
            ?highlighted=${post.id != null && post.id === this.highlightedId}
          ></post-item>`,
      )}
      ${this.hasLater ? this.#renderMore('later', t('chat.loadLater')) : nothing}
      ${
        this._awayFromBottom
          ? html`<div class="jump">
              <button type="button" @click=${this.#jumpToLatest}>
                ${icons.arrowDown}${t('chat.jumpToLatest')}
              </button>
            </div>`
          : nothing
      }
    </div>`;
  }

  /** Whether the reader has scrolled up, away from the newest text. */
  #onScroll = () => {
    const fromBottom = this.scrollHeight - this.scrollTop - this.clientHeight;
    const away = fromBottom > JUMP_AFTER_PX;
    if (away !== this._awayFromBottom) this._awayFromBottom = away;
  };

  #jumpToLatest() {
    this.followBottom();
    this._awayFromBottom = false;
    if (this.hasLater) this.#loadMore('later');
  }

  #renderMore(direction, label) {
    return html`<div class="more">
      <button type="button" ?disabled=${this.loadingMore} @click=${() => this.#loadMore(direction)}>
        ${this.loadingMore ? t('chat.loading') : label}
      </button>
    </div>`;
  }

  #loadMore(direction) {
    const more = direction === 'earlier' ? this.hasEarlier : this.hasLater;
    if (more && !this.loadingMore) emit(this, 'load-more', { direction });
  }
}

/** Whether `after` is `before` with posts put in front of it (an earlier page). */
function addedAbove(before, after) {
  const first = before[0]?.key;
  return first !== undefined && after.findIndex((post) => post.key === first) > 0;
}

customElements.define('post-list', PostList);
