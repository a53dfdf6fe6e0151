// @vitest-environment node
import { expect, test } from 'vitest';
import { isLive, toItem } from '../../src/lib/posts.js';

test('an answer pending or streaming is live, one that ended is not', () => {
  expect(
    ['PENDING', 'STREAMING', 'COMPLETE', 'CANCELLED', 'FAILED'].map((status) => isLive({ status })),
  ).toEqual([true, true, false, false, false]);
});

test('a post as a list item is keyed by its id', () => {
  expect(toItem({ id: 'p1', body: 'x' })).toEqual({ id: 'p1', body: 'x', key: 'p1' });
});
