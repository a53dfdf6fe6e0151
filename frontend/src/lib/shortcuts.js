// The chat's keyboard shortcuts. Each is Alt+Shift and a letter, which browsers and screen
// readers leave free (NVDA and JAWS use Insert or Caps Lock, VoiceOver Control+Option, and
// browsers Control or Command), matched by the key's place (`code`) so that macOS's
// Option letters still match; and "?" for the list, only outside text fields, where it is
// typed as itself.

export const SHORTCUTS = [
  { action: 'new-chat', code: 'KeyN', keys: ['Alt', 'Shift', 'N'] },
  { action: 'search', code: 'KeyK', keys: ['Alt', 'Shift', 'K'] },
  { action: 'composer', code: 'KeyM', keys: ['Alt', 'Shift', 'M'] },
  { action: 'stop', code: 'KeyX', keys: ['Alt', 'Shift', 'X'] },
  { action: 'copy-answer', code: 'KeyC', keys: ['Alt', 'Shift', 'C'] },
  { action: 'help', keys: ['?'] },
];

/** Whether `element` takes typed text (so "?" there is a question mark). */
export function isTextField(element) {
  if (!element) return false;
  if (element.isContentEditable) return true;
  if (element.tagName === 'TEXTAREA' || element.tagName === 'SELECT') return true;
  if (element.tagName !== 'INPUT') return false;
  return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file'].includes(
    element.type,
  );
}

/**
 * The action a keydown asks for, or null: `event` has key, code and the modifier flags;
 * `focused` is the element with the focus (inside shadow roots).
 */
export function shortcutFor(event, focused) {
  if (event.isComposing || event.repeat) return null;
  if (event.ctrlKey || event.metaKey) return null;
  if (event.altKey && event.shiftKey) {
    return (
      SHORTCUTS.find((shortcut) => shortcut.code && shortcut.code === event.code)?.action ?? null
    );
  }
  if (event.key === '?' && !event.altKey && !isTextField(focused)) return 'help';
  return null;
}
