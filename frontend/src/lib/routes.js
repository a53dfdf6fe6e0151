// The URL hash <-> what the page shows:
//   #/                                      a new chat
//   #/c/<id>                                conversation <id>, from its newest posts
//   #/c/<id>?post=<postId>&cursor=<cursor>  conversation <id> around one post (a search hit)

export const NEW_CHAT_HASH = '#/';

/** `{ conversationId, focusPost }` for a hash; anything unknown is a new chat. */
export function parseRoute(hash) {
  const match = /^#\/c\/([^?]+)(?:\?(.*))?$/.exec(hash);
  if (!match) return { conversationId: null, focusPost: null };
  const params = new URLSearchParams(match[2] ?? '');
  const cursor = params.get('cursor');
  return {
    conversationId: decodeURIComponent(match[1]),
    focusPost: cursor ? { postId: params.get('post'), cursor } : null,
  };
}

export function conversationHash(conversationId) {
  return `#/c/${encodeURIComponent(conversationId)}`;
}

export function postHash({ conversationId, postId, cursor }) {
  return `${conversationHash(conversationId)}?${new URLSearchParams({ post: postId, cursor })}`;
}
