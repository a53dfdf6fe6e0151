// A conversation is a tree of posts: posts with the same parent are versions of one another
// (an edited prompt, a regenerated answer). The page shows one branch; these say where a
// post sits among its versions and what the list becomes when another branch is shown.

/** `{ index, count }` of `post` among its versions (index from 0), or null when it has none. */
export function versionsOf(post) {
  const count = post.siblingIds?.length ?? 0;
  if (count < 2) return null;
  return { index: post.siblingIndex ?? post.siblingIds.indexOf(post.id), count };
}

/** The id of the version `step` places from `post` (-1 the one before), or null past an end. */
export function versionAt(post, step) {
  const versions = versionsOf(post);
  if (!versions) return null;
  return post.siblingIds[versions.index + step] ?? null;
}

/**
 * The loaded posts once the branch changes at the post keyed `key`: the posts before it stay,
 * `branch` (the new version and what follows it) takes its place and everything after it.
 * The new version keeps the key of the one it replaces, so that its list item (and the focus
 * in it) stays put.
 */
export function branchFrom(posts, key, branch) {
  const at = posts.findIndex((post) => post.key === key);
  if (at < 0 || branch.length === 0) return posts;
  const [first, ...rest] = branch;
  return [...posts.slice(0, at), { ...first, key }, ...rest];
}

/** Whether `posts` show post `postId`, or an answer regenerated at its place (a regeneration
 * repeats its prompt, so what a search found there is shown). */
export function showsPost(posts, postId) {
  return posts.some(
    (post) => post.id === postId || (post.replacedPostId && post.siblingIds?.includes(postId)),
  );
}
