// What a screen reader is given to say about a finished answer.
const SPOKEN_CHARS = 600;

/** Markdown source reduced to plain words, at most 600 characters. */
export function spokenText(markdown) {
  const text = markdown
    .replace(/```[\s\S]*?```/g, ' (code) ')
    .replace(/[#*_`>|]/g, '')
    .replace(/\s+/g, ' ');
  return text.length > SPOKEN_CHARS ? `${text.slice(0, SPOKEN_CHARS)}…` : text.trim();
}
