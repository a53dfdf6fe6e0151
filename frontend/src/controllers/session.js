// The signed-in session and its end.
import { clearSession, loadSession, saveSession } from '../lib/session.js';
import {
  isRemembered,
  markRemembered,
  renewSession,
  SessionTabs,
} from '../lib/staying-signed-in.js';

// setTimeout overflows past ~24.8 days; a longer session is checked again then.
const MAX_TIMER_MS = 2 ** 31 - 1;
// A kept session's short-lived token is renewed this long before it expires.
const RENEW_BEFORE_MS = 60_000;
// A token refused again this soon after a renewal is not renewed once more.
const RENEW_AGAIN_AFTER_MS = 10_000;

/**
 * A reactive controller over the saved session (lib/session.js): `session` is
 * `{ token, user, expiresAt, remembered }` or null, and the session ends by itself when it
 * expires. A session kept signed in ("keep me signed in": `remembered`) is renewed through
 * the server's HttpOnly cookie instead, taken up by a new tab (`restoring` meanwhile), and
 * a logout in one tab ends it in the others.
 *
 *   sessions = new SessionController(this, { onExpired: (user) => {}, onSignedOutElsewhere });
 *   sessions.logIn(authPayload);  sessions.end({ everywhere: true });  sessions.expire();
 *
 * `expire()` is for a token the server refused: a kept session is renewed first; otherwise
 * it ends the session and calls `onExpired` with the user it belonged to, once.
 */
export class SessionController {
  session;
  /** A new tab is asking the server for the kept session. */
  restoring = false;
  #host;
  #onExpired;
  #onSignedOutElsewhere;
  #timer = 0;
  #tabs = null;
  #renewing = null;
  #renewedAt = 0;

  constructor(host, { onExpired, onSignedOutElsewhere = () => {} }) {
    this.#host = host;
    this.#onExpired = onExpired;
    this.#onSignedOutElsewhere = onSignedOutElsewhere;
    this.session = loadSession();
    this.restoring = !this.session && isRemembered();
    host.addController(this);
  }

  hostConnected() {
    this.#tabs = new SessionTabs(() => {
      if (this.session || this.restoring) this.#onSignedOutElsewhere();
    });
    this.#scheduleExpiry();
    if (this.restoring) this.#restore();
  }

  hostDisconnected() {
    clearTimeout(this.#timer);
    this.#tabs?.close();
    this.#tabs = null;
  }

  /** The token to send, or null once the session has expired (even before the timer fires). */
  get token() {
    return loadSession()?.token ?? null;
  }

  logIn(session) {
    const kept = { ...session, remembered: Boolean(session.remembered) };
    saveSession(kept);
    if (kept.remembered) markRemembered(true);
    this.session = kept;
    this.restoring = false;
    this.#scheduleExpiry();
    this.#host.requestUpdate();
  }

  /** Change what the session says of its user (`{ passwordChangeRequired }`), and save it. */
  updateUser(changes) {
    if (!this.session) return;
    this.session = { ...this.session, user: { ...this.session.user, ...changes } };
    saveSession(this.session);
    this.#host.requestUpdate();
  }

  /** End the session here; `everywhere`: a logout, which the other tabs follow. */
  end({ everywhere = false } = {}) {
    clearSession();
    clearTimeout(this.#timer);
    this.session = null;
    this.restoring = false;
    if (everywhere) {
      markRemembered(false);
      this.#tabs?.announceLogout();
    }
    this.#host.requestUpdate();
  }

  expire() {
    const user = this.session?.user;
    if (!user) return;
    if (this.session.remembered && Date.now() - this.#renewedAt > RENEW_AGAIN_AFTER_MS) {
      this.#renew();
      return;
    }
    this.#expireNow(user);
  }

  #expireNow(user) {
    if (this.session?.remembered) markRemembered(false);
    this.end();
    this.#onExpired(user);
  }

  async #restore() {
    try {
      this.logIn({ ...(await renewSession()), remembered: true });
      this.#renewedAt = Date.now();
    } catch {
      markRemembered(false);
      this.restoring = false;
      this.#host.requestUpdate();
    }
  }

  #renew() {
    if (this.#renewing) return this.#renewing;
    const user = this.session?.user;
    this.#renewing = renewSession()
      .then((renewed) => {
        this.#renewedAt = Date.now();
        if (this.session) this.logIn({ ...renewed, remembered: true });
      })
      .catch(() => {
        if (this.session && user) this.#expireNow(user);
      })
      .finally(() => {
        this.#renewing = null;
      });
    return this.#renewing;
  }

  #scheduleExpiry() {
    clearTimeout(this.#timer);
    const expiresAt = Date.parse(this.session?.expiresAt ?? '');
    if (Number.isNaN(expiresAt)) return;
    if (this.session.remembered) {
      const delay = Math.min(expiresAt - RENEW_BEFORE_MS - Date.now(), MAX_TIMER_MS);
      this.#timer = setTimeout(() => this.#renew(), Math.max(delay, 0));
      return;
    }
    const delay = Math.min(expiresAt - Date.now(), MAX_TIMER_MS);
    this.#timer = setTimeout(
      () => {
        if (loadSession()) this.#scheduleExpiry();
        else this.expire();
      },
      Math.max(delay, 0),
    );
  }
}
