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
