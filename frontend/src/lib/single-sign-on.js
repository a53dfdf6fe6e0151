// Single sign-on from the page's side. The login page links to a provider's `loginUrl` (a
// path of this server, `/auth/oidc/login`); the server's callback sends the browser back to
// `/?sso=signed-in` with its HttpOnly refresh cookie set, or to `/?sso_error=<reason>`.
//
//   const result = takeSignOnResult();        // null, or { signedIn } / { errorKey }
//   const session = await sessionFromRefreshCookie();   // { token, user, expiresAt }

// The reasons the server's callback gives, each with its message (`login.sso.<reason>`).
const REASONS = new Set([
  'sso_expired',
  'sso_state_mismatch',
  'sso_refused',
  'sso_failed',
  'sso_unavailable',
  'signup_disabled',
]);

/**
 * The providers of `serverInfo.singleSignOn` whose login URL is a path of this server (a
 * link elsewhere, or a `javascript:` one, is never rendered).
 */
export function signOnProviders(serverInfo) {
  return (serverInfo?.singleSignOn ?? []).filter(
    (provider) =>
      typeof provider?.loginUrl === 'string' &&
      provider.loginUrl.startsWith('/') &&
      !provider.loginUrl.startsWith('//') &&
      !provider.loginUrl.includes('\\'),
  );
}

/**
 * Read the sign-on result the server's callback put in the address, and take it out of the
 * address (a reload or a shared link must not repeat it): `{ signedIn: true }`,
 * `{ errorKey }` (a message key, whatever the reason said), or null when there is none.
 */
export function takeSignOnResult(location = window.location, history = window.history) {
  const url = new URL(location.href);
  const signedIn = url.searchParams.get('sso') === 'signed-in';
  const reason = url.searchParams.get('sso_error');
  if (!signedIn && reason === null) return null;
  url.searchParams.delete('sso');
  url.searchParams.delete('sso_error');
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
  if (reason !== null) {
    return { errorKey: `login.sso.${REASONS.has(reason) ? reason : 'sso_failed'}` };
  }
  return { signedIn: true };
}

/** Exchange the refresh cookie the callback set for a session `{ token, user, expiresAt }`. */
export async function sessionFromRefreshCookie(fetchImpl = fetch) {
  const response = await fetchImpl('/auth/refresh', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'x-chat-refresh': '1' },
  });
  if (!response.ok) throw new Error(`the sign-in could not be taken up (${response.status})`);
  const { token, user, expiresAt } = await response.json();
  return { token, user, expiresAt };
}
