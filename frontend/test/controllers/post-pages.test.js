// @vitest-environment node
import { describe, expect, test } from 'vitest';
import { PostPages } from '../../src/controllers/post-pages.js';
import { connection, fakeGraphQL, fakeHost, post } from '../fakes.js';

const record = { id: 'c1', title: 'Apples', instructions: null, updatedAt: '2024-01-01T00:00:00Z' };
const ids = (pagesOrPosts) => (pagesOrPosts.posts ?? pagesOrPosts).map((post) => post.id);

describe('PostPages', () => {
  test('opens a conversation on its newest page', async () => {
    const graphql = fakeGraphQL({
      PostsBefore: () => ({
        conversation: { ...record, posts: connection(['p3', 'p4'], { hasPreviousPage: true }) },
      }),
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    expect(await pages.open('c1')).toBe(true);
    expect(graphql.calls).toEqual([
      { name: 'PostsBefore', variables: { id: 'c1', last: 20, before: null } },
    ]);
    expect(ids(pages)).toEqual(['p3', 'p4']);
    expect(pages.posts[0].key).toBe('p3');
    expect(pages.conversation).toEqual(record);
    expect(pages.cursors).toEqual({ earlier: 'cursor-p3', later: null });
    expect([pages.loading, pages.notFound]).toEqual([false, false]);
  });

  test('opens around a post: the page before it, then a page from it', async () => {
    const graphql = fakeGraphQL({
      PostsBefore: () => ({
        conversation: { ...record, posts: connection(['p1', 'p2'], { hasPreviousPage: true }) },
      }),
      PostsAfter: () => ({
        conversation: { ...record, posts: connection(['p3', 'p4'], { hasNextPage: true }) },
      }),
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    await pages.open('c1', { around: 'cursor-p3' });
    expect(graphql.calls.map((call) => call.variables)).toEqual([
      { id: 'c1', last: 20, before: 'cursor-p3' },
      { id: 'c1', first: 20, after: 'cursor-p2' },
    ]);
    expect(ids(pages)).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(pages.cursors).toEqual({ earlier: 'cursor-p1', later: 'cursor-p4' });
  });

  test('loads more in either direction with the same rules', async () => {
    const graphql = fakeGraphQL({
      PostsBefore: ({ before }) => ({
        conversation: {
          ...record,
          posts: before
            ? connection(['p1', 'p2'])
            : connection(['p3', 'p4'], { hasPreviousPage: true }),
        },
      }),
      PostsAfter: () => ({ conversation: { ...record, posts: connection(['p5']) } }),
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    await pages.open('c1');
    expect(ids(await pages.loadMore('earlier'))).toEqual(['p1', 'p2']);
    expect(ids(pages)).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(pages.cursors.earlier).toBeNull();
    expect(await pages.loadMore('earlier')).toEqual([]);
    pages.cursors = { ...pages.cursors, later: 'cursor-p4' };
    expect(ids(await pages.loadMore('later'))).toEqual(['p5']);
    expect(ids(pages)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    expect(pages.cursors.later).toBeNull();
  });

  test('a missing conversation is not found', async () => {
    const graphql = fakeGraphQL({ PostsBefore: () => ({ conversation: null }) });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    await pages.open('gone');
    expect([pages.notFound, pages.posts]).toEqual([true, []]);
  });

  test('a new chat loads nothing', async () => {
    const graphql = fakeGraphQL({});
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    expect(await pages.open(null)).toBe(true);
    expect([graphql.calls, pages.loading, pages.posts]).toEqual([[], false, []]);
  });

  test('a load overtaken by another is dropped, its error too', async () => {
    let fail;
    const graphql = fakeGraphQL({
      PostsBefore: ({ id }) =>
        id === 'slow'
          ? new Promise((_, reject) => (fail = reject))
          : { conversation: { ...record, posts: connection(['p9']) } },
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    const slow = pages.open('slow');
    await pages.open('c1');
    fail(new Error('late'));
    expect(await slow).toBe(false);
    expect(ids(pages)).toEqual(['p9']);
    expect(pages.conversationId).toBe('c1');
  });

  test('the current load throws its error', async () => {
    const graphql = fakeGraphQL({
      PostsBefore: () => {
        throw new Error('offline');
      },
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    await expect(pages.open('c1')).rejects.toThrow('offline');
    expect(pages.loading).toBe(false);
  });

  test('posts are added, patched, replaced and removed by key, each asking for an update', () => {
    const host = fakeHost();
    const pages = new PostPages(host, { graphql: () => fakeGraphQL({}) });
    const before = host.updates;
    pages.append({ key: 'local-1', id: null, body: '' });
    pages.patch('local-1', { id: 'p1', body: 'Hi' });
    expect(pages.find('local-1')).toEqual({ key: 'local-1', id: 'p1', body: 'Hi' });
    pages.replace('local-1', { key: 'p2', id: 'p2' });
    expect(ids(pages)).toEqual(['p2']);
    pages.remove('p2');
    expect(pages.posts).toEqual([]);
    expect(host.updates - before).toBe(4);
  });

  test('an item keeps its cursor, to load what follows it', async () => {
    const graphql = fakeGraphQL({
      PostsBefore: () => ({ conversation: { ...record, posts: connection(['p1']) } }),
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    await pages.open('c1');
    expect(pages.posts[0].cursor).toBe('cursor-p1');
  });

  test('a new version ends the branch where it replaces a post', async () => {
    const graphql = fakeGraphQL({
      PostsBefore: () => ({ conversation: { ...record, posts: connection(['p1', 'p2', 'p3']) } }),
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    await pages.open('c1');
    pages.cursors = { ...pages.cursors, later: 'cursor-p3' };
    pages.replaceBranch('p2', { id: 'p9', key: 'p9' });
    expect(ids(pages)).toEqual(['p1', 'p9']);
    expect(pages.posts[1].key).toBe('p2');
    expect(pages.cursors.later).toBeNull();
  });

  test('another version is loaded with what follows it, after the post before it', async () => {
    const graphql = fakeGraphQL({
      PostsBefore: () => ({
        conversation: {
          ...record,
          posts: connection(['p2', 'p3', 'p4'], { hasPreviousPage: true }),
        },
      }),
      PostsAfter: () => ({
        conversation: { ...record, posts: connection(['p7', 'p8'], { hasNextPage: true }) },
      }),
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    await pages.open('c1');
    const fresh = await pages.reloadFrom('p3', 'p7');
    expect(graphql.calls.at(-1)).toEqual({
      name: 'PostsAfter',
      variables: { id: 'c1', first: 20, after: 'cursor-p2' },
    });
    expect(ids(pages)).toEqual(['p2', 'p7', 'p8']);
    expect(pages.posts.map((post) => post.key)).toEqual(['p2', 'p3', 'p8']);
    expect(ids(fresh)).toEqual(['p7', 'p8']);
    expect(pages.cursors).toEqual({ earlier: 'cursor-p2', later: 'cursor-p8' });
  });

  test('another version of the first post is loaded from the root', async () => {
    const graphql = fakeGraphQL({
      PostsBefore: () => ({ conversation: { ...record, posts: connection(['p1', 'p2']) } }),
      PostsAfter: () => ({ conversation: { ...record, posts: connection(['p5']) } }),
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    await pages.open('c1');
    await pages.reloadFrom('p1', 'p5');
    expect(graphql.calls.at(-1).variables).toEqual({ id: 'c1', first: 20, after: null });
    expect(ids(pages)).toEqual(['p5']);
    expect(pages.posts[0].key).toBe('p1');
  });

  test('without a cursor before it, another version comes with the newest page', async () => {
    let newest = ['p1'];
    const graphql = fakeGraphQL({
      PostsBefore: () => ({ conversation: { ...record, posts: connection(newest) } }),
    });
    const pages = new PostPages(fakeHost(), { graphql: () => graphql });
    await pages.open('c1');
    pages.append({ ...post('p2'), key: 'p2' }); // sent from this page: no cursor
    pages.append({ ...post('p3'), key: 'p3' });
    newest = ['p1', 'p2', 'p6'];
    await pages.reloadFrom('p3', 'p6');
    expect(graphql.calls.at(-1).name).toBe('PostsBefore');
    expect(ids(pages)).toEqual(['p1', 'p2', 'p6']);
    expect(pages.posts[2].key).toBe('p3');
  });
});
