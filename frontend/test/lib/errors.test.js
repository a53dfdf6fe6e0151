// @vitest-environment node
import { expect, test } from 'vitest';
import { ApiError, asApiError, errorFromGraphQL } from '../../src/lib/errors.js';

test('the first GraphQL error decides the code and the message', () => {
  const error = errorFromGraphQL([
    { message: 'too long', extensions: { code: 'BAD_USER_INPUT' } },
    { message: 'other', extensions: { code: 'NOT_FOUND' } },
  ]);
  expect(error).toBeInstanceOf(ApiError);
  expect([error.code, error.message]).toEqual(['BAD_USER_INPUT', 'too long']);
});

test('an error without a code is an internal one', () => {
  expect(errorFromGraphQL([{ message: 'boom' }]).code).toBe('INTERNAL_SERVER_ERROR');
  expect(errorFromGraphQL(undefined).code).toBe('INTERNAL_SERVER_ERROR');
});

test('anything else thrown is a network error; an ApiError stays itself', () => {
  const apiError = new ApiError('RATE_LIMITED');
  expect(asApiError(apiError)).toBe(apiError);
  expect(asApiError(new TypeError('Failed to fetch')).code).toBe('NETWORK');
});

test("an error keeps its extensions, for the page to word it (a quota's reset time)", () => {
  const error = errorFromGraphQL([
    {
      message: 'quota used up',
      extensions: { code: 'QUOTA_EXCEEDED', reason: 'daily_token_quota', limit: 10 },
    },
  ]);
  expect(error.code).toBe('QUOTA_EXCEEDED');
  expect(error.extensions.reason).toBe('daily_token_quota');
  expect(error.extensions.limit).toBe(10);
});
