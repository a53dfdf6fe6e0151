// Share links: the shared page's address (/s/<token>), and the link shown to its owner.

const SHARE_PATH = /^\/s\/([A-Za-z0-9_-]{1,64})\/?$/;

/** The token of a shared page's path (`/s/<token>`), or null for any other path. */
export function shareTokenFromPath(pathname) {
  return SHARE_PATH.exec(pathname)?.[1] ?? null;
}

/**
 * The link to give out for a share, on the site the page is served from: the API names the
 * address it was reached at, which behind a development proxy is not the page's own.
 */
export function shareLink(url, origin = globalThis.location?.origin) {
  const token = shareTokenFromPath(new URL(url, origin).pathname);
  return token && origin ? `${origin}/s/${token}` : url;
}

const PENDING_KEY = 'chat.continueShare';

/** Remember, in this tab, a shared conversation to copy once the reader has logged in. */
export function rememberPendingContinue(token) {
  sessionStorage.setItem(PENDING_KEY, token);
}

/** The shared conversation waiting to be copied after login (and forget it), or null. */
export function takePendingContinue() {
  const token = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  return token && shareTokenFromPath(`/s/${token}`) ? token : null;
}
