// Posts as the page lists them.

const LIVE_STATUSES = new Set(['PENDING', 'STREAMING']);

/** Whether the post's answer is still being written. */
export function isLive(post) {
  return LIVE_STATUSES.has(post.status);
}

/**
 * A Post from the API as a list item: `key` identifies it in the list and stays put when a
 * placeholder (a prompt not yet accepted) becomes the post the server made of it.
 */
export function toItem(post) {
  return { ...post, key: post.id };
}
