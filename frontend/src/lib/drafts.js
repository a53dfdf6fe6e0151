// Unsent prompts, one per user and conversation, in sessionStorage: they survive a reload and
// an expired token (the user logs in again and finds the text), and leave with the tab.
const PREFIX = 'chat.draft:';

function key(userId, conversationId) {
  return `${PREFIX}${userId}:${conversationId ?? 'new'}`;
}

export function loadDraft(userId, conversationId) {
  return sessionStorage.getItem(key(userId, conversationId)) ?? '';
}

export function saveDraft(userId, conversationId, text) {
  if (text) sessionStorage.setItem(key(userId, conversationId), text);
  else sessionStorage.removeItem(key(userId, conversationId));
}

/** Forget every draft of every user (explicit logout). */
export function clearDrafts() {
  for (const name of Object.keys(sessionStorage)) {
    if (name.startsWith(PREFIX)) sessionStorage.removeItem(name);
  }
}

/** The text of an edit of post `postId`'s prompt not yet sent ('' when none). */
export function loadEditDraft(userId, postId) {
  return loadDraft(userId, `edit:${postId}`);
}

/** Keep (or, with no text, forget) the edit of post `postId`'s prompt. */
export function saveEditDraft(userId, postId, text) {
  saveDraft(userId, `edit:${postId}`, text);
}
