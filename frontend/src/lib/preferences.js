// Settings that are not secret and outlive the tab: theme, language, and each conversation's
// output options (language, format, length). Kept in localStorage.
const THEME_KEY = 'chat.theme';
const OPTIONS_PREFIX = 'chat.options:';

export const THEMES = ['system', 'light', 'dark'];

export function loadTheme() {
  const theme = localStorage.getItem(THEME_KEY);
  return THEMES.includes(theme) ? theme : 'system';
}

/** Apply and remember a theme; 'system' follows prefers-color-scheme. */
export function applyTheme(theme) {
  if (theme === 'system') {
    localStorage.removeItem(THEME_KEY);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(THEME_KEY, theme);
    document.documentElement.dataset.theme = theme;
  }
}

/** GenerationOptions for a conversation (`null`: a chat not yet created). */
export function loadOptions(conversationId) {
  try {
    return JSON.parse(localStorage.getItem(OPTIONS_PREFIX + (conversationId ?? 'new')) ?? '{}');
  } catch {
    return {};
  }
}

export function saveOptions(conversationId, options) {
  const key = OPTIONS_PREFIX + (conversationId ?? 'new');
  const kept = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value != null && value !== ''),
  );
  if (Object.keys(kept).length) localStorage.setItem(key, JSON.stringify(kept));
  else localStorage.removeItem(key);
}
