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
  tokenizer: {
    // Raw HTML is shown as text, so a tag must not change how the text after it is read:
    // marked's own stops escaping text after <pre> or <script> and stops linking URLs after
    // <a>, until the closing tag, even blocks later.
    tag(src) {
      const match = this.rules.inline.tag.exec(src);
      if (match) return { type: 'html', raw: match[0], text: match[0], block: false };
    },
  },
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

function sanitizedBlocks(tokens) {
  return purifier.sanitize(marked.parser(tokens), SANITIZE_CONFIG);
}

/**
 * Markdown that grows (an answer being streamed) rendered into `container`, keeping what is
 * already final: each call lexes only the text from the first block that may still change,
 * leaves the blocks before it in the DOM, and replaces the rest. The container ends up
 * holding exactly what `renderMarkdown` of the whole text gives.
 *
 *   const stream = new MarkdownStream(element, { decorate: (fragment) => addToolbars(fragment) });
 *   stream.render('# Title\n\nFirst para');
 *   stream.render('# Title\n\nFirst paragraph.\n\n```js\nlet');
 *
 * `decorate(fragment)` may change each fragment before it is inserted. Text that does not
 * extend the previous one (a restarted answer) is rendered afresh.
 */
export class MarkdownStream {
  #container;
  #decorate;
  // The text whose blocks are final and in the DOM, and the link definitions among them.
  #closedText = '';
  #closedLinks = Object.create(null);
  // Every link definition the blocks in the DOM were rendered with: a new one can change
  // a block that is already final (`[label]` above its definition), so it starts afresh.
  #links = Object.create(null);
  #openNodes = [];

  constructor(container, { decorate = () => {} } = {}) {
    this.#container = container;
    this.#decorate = decorate;
  }

  render(source) {
    // marked reads CR LF as LF; doing it first keeps offsets into the text its own.
    const text = (source ?? '').replace(/\r\n?/g, '\n');
    if (!text.startsWith(this.#closedText)) this.#restart();
    const { tokens, links, complete } = this.#lex(text.slice(this.#closedText.length));
    if (!sameLinks(links, this.#links)) {
      if (this.#closedText) {
        this.#restart();
        this.render(text);
        return;
      }
      this.#links = links;
    }
    const split = complete ? finalBlockCount(text, this.#closedText.length, tokens) : 0;
    const closed = tokens.slice(0, split);
    const open = tokens.slice(split);
    if (closed.length) {
      this.#insert(sanitizedBlocks(closed), this.#openNodes[0] ?? null);
      this.#closedText += closed.map((token) => token.raw).join('');
      collectLinks(closed, this.#closedLinks);
    }
    for (const node of this.#openNodes) node.remove();
    const fragment = sanitizedBlocks(open);
    this.#openNodes = [...fragment.childNodes];
    this.#insert(fragment, null);
  }

  #lex(tail) {
    const lexer = new marked.Lexer(marked.defaults);
    Object.assign(lexer.tokens.links, this.#closedLinks);
    const tokens = lexer.lex(tail);
    // Offsets come from the tokens' raw text; should marked ever drop a character, keep
    // everything open (rendered whole) rather than cut blocks in the wrong place.
    const complete = tokens.reduce((length, token) => length + token.raw.length, 0) === tail.length;
    return { tokens, links: { ...lexer.tokens.links }, complete };
  }

  #insert(fragment, before) {
    this.#decorate(fragment);
    this.#container.insertBefore(fragment, before);
  }

  #restart() {
    this.#container.replaceChildren();
    this.#closedText = '';
    this.#closedLinks = Object.create(null);
    this.#links = Object.create(null);
    this.#openNodes = [];
  }
}

/**
 * How many of `tokens` (lexed from `text` at `offset`) are final whatever text comes next:
 * those before the last block that starts unindented after a blank line. A blank line ends
 * every block but a list item or indented code, and those go on only on an indented line
 * or, for a list, on a line that starts with its marker: after a list, the next block counts
 * only once its first line is complete (`2` may still become `2. item`).
 */
function finalBlockCount(text, offset, tokens) {
  let start = offset;
  let count = 0;
  let previous = null;
  tokens.forEach((token, index) => {
    if (
      index > 0 &&
      token.type !== 'space' &&
      !/^[ \t]/.test(token.raw) &&
      followsBlankLine(text, start) &&
      (previous?.type !== 'list' || text.indexOf('\n', start) !== -1)
    ) {
      count = index;
    }
    if (token.type !== 'space') previous = token;
    start += token.raw.length;
  });
  return count;
}

function followsBlankLine(text, start) {
  if (text[start - 1] !== '\n') return false;
  const lineStart = text.lastIndexOf('\n', start - 2) + 1;
  return /^[ \t]*$/.test(text.slice(lineStart, start - 1));
}

function collectLinks(tokens, into) {
  for (const token of tokens) {
    if (token.type === 'def' && !(token.tag in into)) {
      into[token.tag] = { href: token.href, title: token.title };
    }
    if (token.tokens) collectLinks(token.tokens, into);
    if (token.items) collectLinks(token.items, into);
  }
}

function sameLinks(a, b) {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every(
      (key) =>
        Object.hasOwn(b, key) && a[key].href === b[key].href && a[key].title === b[key].title,
    )
  );
}
