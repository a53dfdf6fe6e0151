// The URL hash as the page's route (see lib/routes.js for the forms it takes).
import { conversationHash, NEW_CHAT_HASH, parseRoute, postHash } from '../lib/routes.js';

/**
 * A reactive controller: `route` is `{ conversationId, focusPost }` from the URL, kept up
 * to date on every hash change; the methods change the URL, which then changes the route.
 *
 *   router = new RouteController(this, { onChange: (route) => {} });
 *   router.openConversation(id);
 */
export class RouteController {
  route;
  #host;
  #onChange;

  constructor(host, { onChange = () => {} } = {}) {
    this.#host = host;
    this.#onChange = onChange;
    this.route = parseRoute(window.location.hash);
    host.addController(this);
  }

  hostConnected() {
    window.addEventListener('hashchange', this.#onHashChange);
  }

  hostDisconnected() {
    window.removeEventListener('hashchange', this.#onHashChange);
  }

  openNewChat() {
    window.location.hash = NEW_CHAT_HASH;
  }

  openConversation(conversationId) {
    window.location.hash = conversationHash(conversationId);
  }

  /** Open a conversation around one of its posts: `{ conversationId, postId, cursor }`. */
  openPost(post) {
    window.location.hash = postHash(post);
  }

  #onHashChange = () => {
    this.route = parseRoute(window.location.hash);
    this.#host.requestUpdate();
    this.#onChange(this.route);
  };
}
