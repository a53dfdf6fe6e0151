// "Keep me signed in" from the page's side. The secret is the server's HttpOnly cookie,
// which no script here can read; what the page keeps is a hint (localStorage
// `chat.remembered`, no secret in it) that a new tab should ask the server for a token, and
// a channel that tells the other tabs of a logout.
//
//   markRemembered(true);  isRemembered();            // the hint
//   const session = await renewSession();            // { token, user, expiresAt } via the cookie
//   const tabs = new SessionTabs(() => signOutHere()); tabs.announceLogout(); tabs.close();
import { sessionFromRefreshCookie } from './single-sign-on.js';

const REMEMBERED_KEY = 'chat.remembered';
const CHANNEL = 'chat.session';
// The cookie changes at every use, and a cookie used twice ends the whole sign-in (it
// means a stolen copy): tabs renewing at once take turns.
const RENEW_LOCK = 'chat.refresh';

export function isRemembered() {
  try {
    return localStorage.getItem(REMEMBERED_KEY) === '1';
  } catch {
    return false;
  }
}

export function markRemembered(remembered) {
  try {
    if (remembered) localStorage.setItem(REMEMBERED_KEY, '1');
    else localStorage.removeItem(REMEMBERED_KEY);
  } catch {
    // Storage refused (private mode): a new tab asks for the password again.
  }
}

/** A new short-lived session from the refresh cookie, one tab at a time. Throws when the
 * cookie is gone or refused (logged out, password changed, session ended). */
export async function renewSession(fetchImpl = fetch) {
  const exchange = () => sessionFromRefreshCookie(fetchImpl);
  if (globalThis.navigator?.locks?.request) {
    return navigator.locks.request(RENEW_LOCK, exchange);
  }
  return exchange();
}

/**
 * The other tabs of this browser: `onLogout()` runs here when one of them logs out (over a
 * BroadcastChannel; the `storage` event of the hint where there is none).
 */
export class SessionTabs {
  #channel = null;
  #onStorage;

  constructor(onLogout) {
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(CHANNEL);
      this.#channel.onmessage = (event) => {
        if (event.data?.type === 'logout') onLogout();
      };
    } else {
      this.#onStorage = (event) => {
        if (event.key === REMEMBERED_KEY && event.newValue === null) onLogout();
      };
      window.addEventListener('storage', this.#onStorage);
    }
  }

  announceLogout() {
    this.#channel?.postMessage({ type: 'logout' });
  }

  close() {
    this.#channel?.close();
    if (this.#onStorage) window.removeEventListener('storage', this.#onStorage);
  }
}
