// What a post's details show: when the prompt was sent and the answer came, which model wrote
// it, its tokens and how long it took (all fields the page fetches with every post).

/** The answer's time: the prompt's plus how long the model took, or null when unknown. */
export function answeredAt(post) {
  const sent = new Date(post.createdAt).getTime();
  if (Number.isNaN(sent) || typeof post.latencyMs !== 'number') return null;
  return new Date(sent + post.latencyMs).toISOString();
}

/** Seconds with one decimal (1234 ms -> 1.2), or null when unknown. */
export function seconds(latencyMs) {
  return typeof latencyMs === 'number' ? Math.round(latencyMs / 100) / 10 : null;
}

/**
 * The details to list, in order, as `[key, params]` message pairs: the model, the tokens
 * (prompt and answer, or the answer's alone), the seconds. Unknown ones are left out.
 */
export function detailLines(post) {
  const lines = [];
  if (post.model) lines.push(['post.details.model', { model: post.model }]);
  if (typeof post.completionTokens === 'number') {
    lines.push(
      typeof post.promptTokens === 'number'
        ? ['post.details.tokens', { prompt: post.promptTokens, answer: post.completionTokens }]
        : ['post.details.answerTokens', { answer: post.completionTokens }],
    );
  }
  const took = seconds(post.latencyMs);
  if (took !== null) lines.push(['post.details.seconds', { seconds: took }]);
  return lines;
}
