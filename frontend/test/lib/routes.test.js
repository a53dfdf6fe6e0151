// @vitest-environment node
import { describe, expect, test } from 'vitest';
import { conversationHash, parseRoute, postHash } from '../../src/lib/routes.js';

describe('routes', () => {
  test('an empty or unknown hash is a new chat', () => {
    for (const hash of ['', '#/', '#/elsewhere', '#/c/']) {
      expect(parseRoute(hash)).toEqual({ conversationId: null, focusPost: null });
    }
  });

  test('a conversation hash opens it from its newest posts', () => {
    expect(parseRoute(conversationHash('abc 1/2'))).toEqual({
      conversationId: 'abc 1/2',
      focusPost: null,
    });
  });

  test('a post hash opens the conversation around that post', () => {
    const hash = postHash({ conversationId: 'c1', postId: 'p9', cursor: 'b64==&x' });
    expect(parseRoute(hash)).toEqual({
      conversationId: 'c1',
      focusPost: { postId: 'p9', cursor: 'b64==&x' },
    });
  });

  test('a post without a cursor is not focused', () => {
    expect(parseRoute('#/c/c1?post=p9').focusPost).toBeNull();
  });
});
