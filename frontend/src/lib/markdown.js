// Model output to safe DOM: marked renders Markdown, DOMPurify keeps only an allowlist.
//
// Model output is untrusted. Raw HTML in it is shown as text (never parsed), images become
// links (no remote loads), and links keep only http(s) and mailto targets. DOMPurify's
// allowlist is the second wall in case marked ever lets something through.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const SAFE_URL = /^(?:https?:|mailto:)/i;

function escapeHtml(text) {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    image({ href, text }) {
      const label = escapeHtml(text || href);
      return SAFE_URL.test(href) ? `<a href="${escapeHtml(href)}">${label}</a>` : label;
    },
  },
});

const purifier = DOMPurify(window);
purifier.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeName !== 'A') return;
  const href = node.getAttribute('href') ?? '';
  if (!SAFE_URL.test(href)) {
    node.removeAttribute('href');
    return;
  }
  node.setAttribute('target', '_blank');
  node.setAttribute('rel', 'noopener noreferrer nofollow');
});

const SANITIZE_CONFIG = {
  ALLOWED_TAGS: [
    'a',
    'blockquote',
    'br',
    'code',
    'del',
    'em',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'hr',
    'li',
    'ol',
    'p',
    'pre',
    'strong',
    'table',
    'tbody',
    'td',
    'th',
    'thead',
    'tr',
    'ul',
  ],
  ALLOWED_ATTR: ['href', 'title', 'class', 'start', 'align'],
  ALLOWED_URI_REGEXP: SAFE_URL,
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

/**
 * Markdown to a sanitized DocumentFragment, ready to insert.
 *
 *   element.replaceChildren(renderMarkdown('**hi** <img src=x onerror=alert(1)>'));
 */
export function renderMarkdown(source) {
  return purifier.sanitize(marked.parse(source ?? ''), SANITIZE_CONFIG);
}
