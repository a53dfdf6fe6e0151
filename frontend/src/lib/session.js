// The login session: the token lives in sessionStorage (gone when the tab closes), never in
// localStorage. GraphiQL reads the same key to prefill its Authorization header.
const SESSION_KEY = 'chat.session';

/** The saved session `{token, user, expiresAt}`, or null when absent or expired. */
export function loadSession() {
  let session;
  try {
    session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
  } catch {
    return null;
  }
  if (!session?.token) return null;
  if (session.expiresAt && Date.parse(session.expiresAt) <= Date.now()) return null;
  return session;
}

/** Save an AuthPayload (`{token, user, expiresAt}`) from `login` or `register`; `remembered`:
 * it is kept signed in (renewed through the refresh cookie). */
export function saveSession({ token, user, expiresAt, remembered = false }) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token, user, expiresAt, remembered }));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}
