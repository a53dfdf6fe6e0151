// Messages in English and Brazilian Portuguese, chosen from the browser and switchable.
//
//   t('composer.send')                        -> 'Send'
//   t('sidebar.deleteConfirm', { title })     -> 'Delete “Trip plans”?'
// Components add `new I18nController(this)` to re-render when the language changes; the app
// shell changes it (`setLanguage`) and tells them through its preferences context.
import { ContextConsumer } from '@lit/context';
import { preferencesContext } from '../lib/contexts.js';
import en from './en.js';

const LANGUAGE_KEY = 'chat.language';
// English is always there (and the fallback for a missing message); another language is
// loaded when it is chosen, so that it is not part of every page's first load.
const loaders = { en: async () => en, 'pt-BR': async () => (await import('./pt-BR.js')).default };
const catalogs = { en };

async function load(code) {
  catalogs[code] ??= await loaders[code]();
}

export const LANGUAGES = [
  { code: 'en', label: 'English' },
  { code: 'pt-BR', label: 'Português (Brasil)' },
];

function fromBrowser() {
  for (const tag of navigator.languages ?? [navigator.language]) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('pt')) return 'pt-BR';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

let current = loaders[localStorage.getItem(LANGUAGE_KEY)]
  ? localStorage.getItem(LANGUAGE_KEY)
  : fromBrowser();
await load(current);
document.documentElement.lang = current;

export function language() {
  return current;
}

/** Switch to `code` once its messages are loaded (resolves then). */
export async function setLanguage(code) {
  if (!loaders[code] || code === current) return;
  await load(code);
  current = code;
  localStorage.setItem(LANGUAGE_KEY, code);
  document.documentElement.lang = code;
}

export function t(key, params = {}) {
  const template = catalogs[current][key] ?? en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    name in params ? String(params[name]) : match,
  );
}

/** Format an ISO date-time for the current language. */
export function formatDateTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleString(current, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The time of day of an ISO date-time ("4:16 PM"), for posts. */
export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString(current, { hour: 'numeric', minute: '2-digit' });
}

/** A month and its year ("November 2026"), for the sidebar's older sections. */
export function formatMonth(date) {
  return date.toLocaleDateString(current, { month: 'long', year: 'numeric' });
}

/** A count in the reader's language ("12,345" or "12.345"). */
export function formatNumber(value) {
  return typeof value === 'number' ? value.toLocaleString(current) : '';
}

/** Re-render `host` whenever the page's preferences (its language among them) change. */
export class I18nController {
  constructor(host) {
    this.preferences = new ContextConsumer(host, { context: preferencesContext, subscribe: true });
  }
}
