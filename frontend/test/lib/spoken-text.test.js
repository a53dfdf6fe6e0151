// @vitest-environment node
import { expect, test } from 'vitest';
import { spokenText } from '../../src/lib/spoken-text.js';

test('says code blocks as "(code)" and drops Markdown marks', () => {
  expect(spokenText('# Title\n\n**Bold** and `x`\n\n```js\nlet a;\n```\n> quote')).toBe(
    'Title Bold and x (code) quote',
  );
});

test('stops after 600 characters', () => {
  const spoken = spokenText('word '.repeat(500));
  expect(spoken).toHaveLength(601);
  expect(spoken.endsWith('…')).toBe(true);
});
