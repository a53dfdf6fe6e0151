import { expect, test } from 'vitest';
import { titleFromPrompt } from '../../src/lib/titles.js';

// The server's title_from_prompt gives the same titles for these prompts.
test('a prompt of several lines is titled by its words on one line', () => {
  expect(titleFromPrompt('Plan a trip\nto Lisbon   in May,\n\nwith two children')).toBe(
    'Plan a trip to Lisbon in May, with two children',
  );
});

test('a long prompt is cut to 60 characters with an ellipsis', () => {
  const title = titleFromPrompt('word '.repeat(30));
  expect(Array.from(title)).toHaveLength(60);
  expect(title.endsWith('word…')).toBe(true);
});

test('characters are counted as the server counts them, not in UTF-16 units', () => {
  expect(titleFromPrompt('😀'.repeat(60))).toBe('😀'.repeat(60));
});

test('a prompt of blanks is a new chat', () => {
  expect(titleFromPrompt(' \n ')).toBe('New chat');
});
