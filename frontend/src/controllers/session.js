// The signed-in session and its end.
import { clearSession, loadSession, saveSession } from '../lib/session.js';

// setTimeout overflows past ~24.8 days; a longer session is checked again then.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A reactive controller over the saved session (lib/session.js): `session` is
 * `{ token, user, expiresAt }` or null, and the session ends by itself when it expires.
 *
 *   sessions = new SessionController(this, { onExpired: (user) => {} });
 *   sessions.logIn(authPayload);  sessions.end();  sessions.expire();
 *
 * `expire()` is for a token the server refused: it ends the session and calls `onExpired`
 * with the user it belonged to, once.
 */
export class SessionController {
  session;
  #host;
  #onExpired;
  #timer = 0;

  constructor(host, { onExpired }) {
    this.#host = host;
    this.#onExpired = onExpired;
    this.session = loadSession();
    host.addController(this);
  }

  hostConnected() {
    this.#scheduleExpiry();
  }

  hostDisconnected() {
    clearTimeout(this.#timer);
  }

  /** The token to send, or null once the session has expired (even before the timer fires). */
  get token() {
    return loadSession()?.token ?? null;
  }

  logIn(session) {
    saveSession(session);
    this.session = session;
    this.#scheduleExpiry();
    this.#host.requestUpdate();
  }

  end() {
    clearSession();
    clearTimeout(this.#timer);
    this.session = null;
    this.#host.requestUpdate();
  }

  expire() {
    const user = this.session?.user;
    if (!user) return;
    this.end();
    this.#onExpired(user);
  }

  #scheduleExpiry() {
    clearTimeout(this.#timer);
    const expiresAt = Date.parse(this.session?.expiresAt ?? '');
    if (Number.isNaN(expiresAt)) return;
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
