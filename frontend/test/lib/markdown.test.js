import { describe, expect, test } from 'vitest';
import { MarkdownStream, renderMarkdown } from '../../src/lib/markdown.js';

function wholeHtml(source) {
  const element = document.createElement('div');
  element.append(renderMarkdown(source));
  return element.innerHTML;
}

function streamed(chunks) {
  const element = document.createElement('div');
  const stream = new MarkdownStream(element);
  let text = '';
  for (const chunk of chunks) {
    text += chunk;
    stream.render(text);
  }
  return element.innerHTML;
}

const TRICKY = {
  'a code fence split mid-stream, blank lines inside': [
    'Here is code:\n\n```python\ndef f():\n\n    return 1\n```\n\nAfter the fence.\n',
  ],
  'an unclosed fence': ['Intro\n\n```js\nlet a = 1;\n\nlet b = 2;\n'],
  'a tight list, then a loose one': [
    '- one\n- two\n\ntext\n\n1. first\n\n2. second\n\n   still second\n\n3. third\n',
  ],
  'a list item marker after a blank line': ['1. a\n\n2\n\n2. b\n\n- x\n\n* y\n\n-z\n'],
  'nested lists': ['- a\n  - b\n    - c\n\n  more a\n\nend\n'],
  'a table': ['Before\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |\n\nAfter\n'],
  'a table interrupting a paragraph': ['Look:\n| a | b |\n| - | - |\n| 1 | 2 |\n'],
  'a script in the middle': [
    'Safe text.\n\n<script>window.__pwned = 1</script>\n\nMore <b onclick="x()">text</b>.\n',
  ],
  'html blocks that span blank lines': [
    '<div>\n\ninside\n\n</div>\n\n<pre>\n\nkept\n\n</pre>\n\nx\n',
  ],
  'setext headings': ['Title\n=====\n\nSub\n---\n\npara\n'],
  'a heading that turns back into text': ['foo\n#hashtag\n\nbar\n#\n'],
  'indented code after a blank line': ['para\n\n    code line\n\n    more code\n\nend\n'],
  'a blockquote': ['> quoted\n> more\nlazy\n\n> second\n\nplain\n'],
  'a reference link defined after its use': [
    'See [the docs][d].\n\nText.\n\n[d]: https://example.com "Docs"\n\nEnd.\n',
  ],
  'a reference definition that stops being one': [
    '[x]\n\n[x]: https://a.example\n\n[x]: https://b.example y\n',
  ],
  'unsafe links and images': [
    '[bad](javascript:alert(1)) and ![img](https://example.com/a.png) and ![x](data:x)\n\n<https://ok.example>\n',
  ],
  'CR LF line ends': ['one\r\n\r\ntwo\r\n- a\r\n- b\r\n'],
  'spaces on blank lines and trailing text': ['a\n   \nb\n\t\n\nc'],
};

// Fragments that start, end or continue Markdown blocks, for random documents.
const PIECES = [
  '\n',
  '\n\n',
  '   \n',
  'text ',
  'word',
  '- ',
  '* ',
  '1. ',
  '2. ',
  '1) ',
  '+ ',
  '  ',
  '    ',
  '\t',
  '# ',
  '#',
  '===',
  '---',
  '***',
  '```',
  '```js\n',
  '~~~',
  '> ',
  '| a | b |',
  '|---|---|',
  '[x]',
  '[x]: http://e.com',
  ' "t"',
  '<div>',
  '</div>',
  '<script>',
  '</script>',
  '<pre>',
  '</pre>',
  '<!--',
  '-->',
  '<a href="x">',
  '**',
  '_',
  '`',
  '<',
  '\\',
  'http://a.example',
];

function seededRandom(seed) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('MarkdownStream', () => {
  for (const [name, [source]] of Object.entries(TRICKY)) {
    test(`equals whole rendering at every prefix: ${name}`, () => {
      const element = document.createElement('div');
      const stream = new MarkdownStream(element);
      for (let end = 0; end <= source.length; end += 1) {
        const prefix = source.slice(0, end);
        stream.render(prefix);
        expect(element.innerHTML, `after ${JSON.stringify(prefix)}`).toBe(wholeHtml(prefix));
      }
    });

    test(`equals whole rendering in uneven chunks: ${name}`, () => {
      for (const size of [2, 3, 7, 16]) {
        const chunks = [];
        for (let start = 0; start < source.length; start += size) {
          chunks.push(source.slice(start, start + size));
        }
        expect(streamed(chunks)).toBe(wholeHtml(source));
      }
    });
  }

  test('equals whole rendering on random Markdown-like text', () => {
    const random = seededRandom(20240611);
    for (let document_ = 0; document_ < 60; document_ += 1) {
      let source = '';
      const pieces = 5 + Math.floor(random() * 40);
      for (let piece = 0; piece < pieces; piece += 1) {
        source += PIECES[Math.floor(random() * PIECES.length)];
      }
      const element = document.createElement('div');
      const stream = new MarkdownStream(element);
      let text = '';
      while (text.length < source.length) {
        text = source.slice(0, text.length + 1 + Math.floor(random() * 6));
        stream.render(text);
        expect(element.innerHTML, `after ${JSON.stringify(text)}`).toBe(wholeHtml(text));
      }
    }
  });

  test('keeps finished blocks in place as text arrives', () => {
    const element = document.createElement('div');
    const stream = new MarkdownStream(element);
    stream.render('First paragraph.\n\nSecond paragraph.\n\nThi');
    const first = element.querySelector('p');
    stream.render('First paragraph.\n\nSecond paragraph.\n\nThird paragraph, longer now.');
    expect(element.querySelector('p')).toBe(first);
    expect(element.querySelectorAll('p')).toHaveLength(3);
  });

  test('a block is final as soon as the next one starts on its own line', () => {
    const element = document.createElement('div');
    const stream = new MarkdownStream(element);
    stream.render('One.\n\nTwo is being');
    const first = element.querySelector('p');
    stream.render('One.\n\nTwo is being written on one line');
    expect(element.querySelector('p')).toBe(first);
  });

  test('after a list, the next block waits for its first line: it may be an item', () => {
    const element = document.createElement('div');
    const stream = new MarkdownStream(element);
    stream.render('1. one\n\n2');
    stream.render('1. one\n\n2. two\n');
    expect(element.innerHTML).toBe(wholeHtml('1. one\n\n2. two\n'));
    expect(element.querySelectorAll('ol')).toHaveLength(1);
  });

  test('starts afresh when the text does not extend the previous one', () => {
    const element = document.createElement('div');
    const stream = new MarkdownStream(element);
    stream.render('Old answer.\n\nWith two paragraphs.\n\n');
    stream.render('New answer.');
    expect(element.innerHTML).toBe(wholeHtml('New answer.'));
  });

  test('decorates each inserted fragment', () => {
    const element = document.createElement('div');
    const stream = new MarkdownStream(element, {
      decorate(fragment) {
        for (const pre of fragment.querySelectorAll('pre')) pre.dataset.seen = 'yes';
      },
    });
    stream.render('```\na\n```\n\ntext\n\n```\nb\n');
    expect([...element.querySelectorAll('pre')].map((pre) => pre.dataset.seen)).toEqual([
      'yes',
      'yes',
    ]);
  });
});

describe('renderMarkdown', () => {
  test('shows raw HTML as text', () => {
    const html = wholeHtml('Hi <script>alert(1)</script> <img src=x onerror=alert(1)>');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;');
  });

  test('keeps only http(s) and mailto links, opened safely', () => {
    const element = document.createElement('div');
    element.append(
      renderMarkdown('[a](javascript:alert(1)) [b](https://example.com) [c](mailto:x@example.com)'),
    );
    const links = [...element.querySelectorAll('a')];
    expect(links[0].hasAttribute('href')).toBe(false);
    expect(links[1].getAttribute('href')).toBe('https://example.com');
    expect(links[1].getAttribute('rel')).toBe('noopener noreferrer nofollow');
    expect(links[1].getAttribute('target')).toBe('_blank');
    expect(links[2].getAttribute('href')).toBe('mailto:x@example.com');
  });

  test('reads the text after a raw <pre>, <script> or <a> tag as text, in every block', () => {
    const link = (url) =>
      `<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${url}</a>`;
    const html = wholeHtml(
      'See <pre> <b>x</b> http://a.example\n\nand <a href="y"> http://b.example',
    );
    expect(html).toBe(
      `<p>See &lt;pre&gt; &lt;b&gt;x&lt;/b&gt; ${link('http://a.example')}</p>\n` +
        `<p>and &lt;a href="y"&gt; ${link('http://b.example')}</p>\n`,
    );
  });

  test('turns images into links, never loads them', () => {
    const html = wholeHtml('![a cat](https://example.com/cat.png) ![x](javascript:alert(1))');
    expect(html).toBe(
      '<p><a href="https://example.com/cat.png" target="_blank" rel="noopener noreferrer nofollow">a cat</a> x</p>\n',
    );
  });
});
