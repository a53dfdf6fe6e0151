// @vitest-environment node
import { describe, expect, test } from 'vitest';
import { branchFrom, showsPost, versionAt, versionsOf } from '../../src/lib/versions.js';
import { post } from '../fakes.js';

const versioned = post('p5', { siblingIds: ['p2', 'p5', 'p8'], siblingIndex: 1 });

describe('versions', () => {
  test('a post with versions knows its place among them', () => {
    expect(versionsOf(versioned)).toEqual({ index: 1, count: 3 });
  });

  test('a post alone, or one not yet saved, has no versions to show', () => {
    expect(versionsOf(post('p1', { siblingIds: ['p1'], siblingIndex: 0 }))).toBeNull();
    expect(versionsOf({ id: null, prompt: 'Hi' })).toBeNull();
  });

  test('the version before and after, and none past either end', () => {
    expect([versionAt(versioned, -1), versionAt(versioned, 1)]).toEqual(['p2', 'p8']);
    const first = { ...versioned, id: 'p2', siblingIndex: 0 };
    expect(versionAt(first, -1)).toBeNull();
    expect(versionAt({ ...versioned, id: 'p8', siblingIndex: 2 }, 1)).toBeNull();
  });

  test('a branch takes the place of a post and of everything after it, under its key', () => {
    const posts = ['a', 'b', 'c', 'd'].map((key) => ({ key, id: key }));
    const branch = [
      { key: 'x', id: 'x' },
      { key: 'y', id: 'y' },
    ];
    expect(branchFrom(posts, 'b', branch)).toEqual([
      { key: 'a', id: 'a' },
      { key: 'b', id: 'x' },
      { key: 'y', id: 'y' },
    ]);
  });

  test('a branch for a post not shown, or an empty one, changes nothing', () => {
    const posts = [{ key: 'a', id: 'a' }];
    expect(branchFrom(posts, 'zz', [{ key: 'x', id: 'x' }])).toBe(posts);
    expect(branchFrom(posts, 'a', [])).toBe(posts);
  });

  test('a post is shown by itself, or by an answer regenerated at its place', () => {
    const regenerated = post('p5', { siblingIds: ['p2', 'p5'], replacedPostId: 'p2' });
    const edited = post('p6', { siblingIds: ['p3', 'p6'], replacedPostId: null });
    expect(showsPost([post('p1'), regenerated], 'p1')).toBe(true);
    expect(showsPost([post('p1'), regenerated], 'p2')).toBe(true);
    // An edit has another prompt: the one found is not shown.
    expect(showsPost([post('p1'), edited], 'p3')).toBe(false);
  });
});
