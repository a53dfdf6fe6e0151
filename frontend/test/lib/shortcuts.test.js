import { describe, expect, it } from 'vitest';
import { shortcutFor } from '../../src/lib/shortcuts.js';

const key = (fields) => ({
  key: '',
  code: '',
  altKey: false,
  shiftKey: false,
  ctrlKey: false,
  metaKey: false,
  repeat: false,
  isComposing: false,
  ...fields,
});
const textarea = { tagName: 'TEXTAREA' };
const button = { tagName: 'BUTTON' };

describe('shortcutFor', () => {
  it('maps Alt+Shift letters by their place on the keyboard, even in a text field', () => {
    expect(
      shortcutFor(key({ altKey: true, shiftKey: true, code: 'KeyN', key: 'N' }), textarea),
    ).toBe('new-chat');
    // macOS: Option+Shift+K types "", the code still says K.
    expect(shortcutFor(key({ altKey: true, shiftKey: true, code: 'KeyK', key: '' }), button)).toBe(
      'search',
    );
    expect(shortcutFor(key({ altKey: true, shiftKey: true, code: 'KeyM' }), null)).toBe('composer');
    expect(shortcutFor(key({ altKey: true, shiftKey: true, code: 'KeyX' }), null)).toBe('stop');
    expect(shortcutFor(key({ altKey: true, shiftKey: true, code: 'KeyC' }), null)).toBe(
      'copy-answer',
    );
  });

  it('opens the list with ? outside text fields only', () => {
    expect(shortcutFor(key({ key: '?', shiftKey: true, code: 'Slash' }), button)).toBe('help');
    expect(shortcutFor(key({ key: '?', shiftKey: true }), null)).toBe('help');
    expect(shortcutFor(key({ key: '?', shiftKey: true }), textarea)).toBeNull();
    expect(shortcutFor(key({ key: '?' }), { tagName: 'INPUT', type: 'search' })).toBeNull();
    expect(shortcutFor(key({ key: '?' }), { tagName: 'DIV', isContentEditable: true })).toBeNull();
  });

  it('leaves what the browser and screen readers use alone', () => {
    for (const fields of [
      { ctrlKey: true, shiftKey: true, code: 'KeyN' },
      { metaKey: true, shiftKey: true, code: 'KeyN' },
      { ctrlKey: true, altKey: true, shiftKey: true, code: 'KeyN' },
      { altKey: true, code: 'KeyN' },
      { shiftKey: true, code: 'KeyN', key: 'N' },
      { altKey: true, shiftKey: true, code: 'KeyQ' },
      { key: '/', code: 'Slash' },
      { key: 'Escape' },
    ]) {
      expect(shortcutFor(key(fields), button)).toBeNull();
    }
  });

  it('ignores held keys and text being composed', () => {
    expect(
      shortcutFor(key({ altKey: true, shiftKey: true, code: 'KeyN', repeat: true }), null),
    ).toBeNull();
    expect(shortcutFor(key({ key: '?', isComposing: true }), null)).toBeNull();
  });
});
