// @vitest-environment node
import { describe, expect, test } from 'vitest';
import { shareLink, shareTokenFromPath } from '../../src/lib/share-links.js';

describe('share links', () => {
  test('the token of a shared page is read from its path', () => {
    expect(shareTokenFromPath('/s/AbC-12_x')).toBe('AbC-12_x');
    expect(shareTokenFromPath('/s/AbC-12_x/')).toBe('AbC-12_x');
  });

  test('any other path has no token', () => {
    for (const path of ['/', '/s/', '/s/a/b', '/x/abc', '/s/<script>', `/s/${'a'.repeat(65)}`]) {
      expect(shareTokenFromPath(path), path).toBeNull();
    }
  });

  test("the link given out is on the page's own site", () => {
    expect(shareLink('http://127.0.0.1:8000/s/tok', 'https://chat.example')).toBe(
      'https://chat.example/s/tok',
    );
  });

  test('a url that is not a share link is left as it is', () => {
    expect(shareLink('https://elsewhere.example/x', 'https://chat.example')).toBe(
      'https://elsewhere.example/x',
    );
  });
});
