// The search dialog's text work: which words go to the server, which results have every word,
// and a snippet cut into plain and marked runs for the page to render as text (never as HTML).

/** The server searches words of at least this many letters (MariaDB's full-text minimum). */
export const MIN_WORD_CHARS = 3;

/** The words of `query`, lower-cased, each once. */
export function searchWords(query) {
  const words = (query ?? '').toLocaleLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
  return [...new Set(words)];
}

/** Whether `query` has a word the server can search for. */
export function hasSearchableWord(query) {
  return searchWords(query).some((word) => word.length >= MIN_WORD_CHARS);
}

/** Whether every word of `query` is in one of `texts` (any case): short words, which the
 * server leaves out, narrow its results here. */
export function hasEveryWord(texts, query) {
  const haystack = texts.join('\n').toLocaleLowerCase();
  return searchWords(query).every((word) => haystack.includes(word));
}

/** Where the words of `query` start words of `text`: `[{ start, length }]`, in order. */
export function wordRanges(text, query) {
  const words = searchWords(query);
  const ranges = [];
  for (const match of text.matchAll(/[\p{L}\p{N}_]+/gu)) {
    const lower = match[0].toLocaleLowerCase();
    const word = words.find((each) => lower.startsWith(each));
    if (word) ranges.push({ start: match.index, length: word.length });
  }
  return ranges;
}

/**
 * `text` cut into runs `[{ text, marked }]` at `ranges` (`{ start, length }`, as the API's
 * `highlights` give them): out-of-range, overlapping or unordered ranges are tolerated.
 */
export function markedRuns(text, ranges) {
  const spans = ranges
    .map(({ start, length }) => [Math.max(0, start), Math.min(text.length, start + length)])
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  const runs = [];
  let at = 0;
  for (const [start, end] of spans) {
    if (end <= at) continue;
    const from = Math.max(start, at);
    if (from > at) runs.push({ text: text.slice(at, from), marked: false });
    const last = runs.at(-1);
    if (last?.marked && from === at) last.text += text.slice(from, end);
    else runs.push({ text: text.slice(from, end), marked: true });
    at = end;
  }
  if (at < text.length) runs.push({ text: text.slice(at), marked: false });
  return runs;
}
