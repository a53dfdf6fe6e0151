// A conversation's title from its first prompt, by the server's own rule
// (graphql_api/services/conversations.py, title_from_prompt): the page shows, before the
// server says it, the title the server gives, so that a reload never changes it.

const TITLE_FROM_PROMPT_CHARS = 60;

/**
 * The prompt's words on one line (any run of whitespace, new lines included, is one space),
 * cut to 60 characters with an ellipsis; 'New chat' when there are none (the server's
 * default, kept in English as the server keeps it).
 *
 *   titleFromPrompt('Plan a trip\nto Lisbon')   // 'Plan a trip to Lisbon'
 */
export function titleFromPrompt(prompt) {
  const words = prompt.split(/\s+/u).filter(Boolean).join(' ');
  // Characters as Python counts them (code points), not UTF-16 units.
  const characters = Array.from(words);
  if (characters.length <= TITLE_FROM_PROMPT_CHARS) return words || 'New chat';
  return `${characters
    .slice(0, TITLE_FROM_PROMPT_CHARS - 1)
    .join('')
    .trimEnd()}…`;
}
