// Code highlighting, loaded on first use so highlight.js stays out of the first-load bundle.
let loading = null;

async function loadHighlighter() {
  const [{ default: hljs }, ...languages] = await Promise.all([
    import('highlight.js/lib/core'),
    import('highlight.js/lib/languages/bash'),
    import('highlight.js/lib/languages/c'),
    import('highlight.js/lib/languages/cpp'),
    import('highlight.js/lib/languages/css'),
    import('highlight.js/lib/languages/go'),
    import('highlight.js/lib/languages/java'),
    import('highlight.js/lib/languages/javascript'),
    import('highlight.js/lib/languages/json'),
    import('highlight.js/lib/languages/python'),
    import('highlight.js/lib/languages/rust'),
    import('highlight.js/lib/languages/sql'),
    import('highlight.js/lib/languages/typescript'),
    import('highlight.js/lib/languages/xml'),
    import('highlight.js/lib/languages/yaml'),
  ]);
  const names = [
    'bash',
    'c',
    'cpp',
    'css',
    'go',
    'java',
    'javascript',
    'json',
    'python',
    'rust',
    'sql',
    'typescript',
    'xml',
    'yaml',
  ];
  names.forEach((name, index) => hljs.registerLanguage(name, languages[index].default));
  hljs.registerAliases(['sh', 'shell', 'zsh', 'console'], { languageName: 'bash' });
  hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
  hljs.registerAliases(['js', 'jsx', 'mjs'], { languageName: 'javascript' });
  hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' });
  hljs.registerAliases(['py'], { languageName: 'python' });
  hljs.registerAliases(['yml'], { languageName: 'yaml' });
  return hljs;
}

/**
 * Highlight every `pre > code.language-*` under `root` whose language is known.
 * highlight.js escapes the code text itself, so the result stays inert.
 */
export async function highlightCodeIn(root) {
  const blocks = [...root.querySelectorAll('pre > code[class*="language-"]:not(.hljs)')];
  if (blocks.length === 0) return;
  loading ??= loadHighlighter();
  const hljs = await loading;
  for (const block of blocks) {
    const language = /language-([\w+-]+)/.exec(block.className)?.[1];
    if (block.isConnected && language && hljs.getLanguage(language)) hljs.highlightElement(block);
  }
}
