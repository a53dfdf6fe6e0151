import { afterEach, expect, test } from 'vitest';
import { rememberPendingContinue, takePendingContinue } from '../../src/lib/share-links.js';

afterEach(() => sessionStorage.clear());

test('a shared conversation to continue after login is taken once', () => {
  rememberPendingContinue('AbC-12_x');
  expect(takePendingContinue()).toBe('AbC-12_x');
  expect(takePendingContinue()).toBeNull();
});

test('something that is not a token is not taken', () => {
  sessionStorage.setItem('chat.continueShare', '../graphql?x');
  expect(takePendingContinue()).toBeNull();
});
