import { expect, test } from 'vitest';
import { errorText } from '../../src/lib/error-text.js';
import { ApiError } from '../../src/lib/errors.js';

test('a reason is worded by the page with its numbers, not by the server', () => {
  const error = new ApiError('BAD_USER_INPUT', 'password must be 8 to 1024 characters', {
    reason: 'password_length',
    min: 8,
    max: 1024,
  });
  expect(errorText(error)).toBe('The password must be 8 to 1024 characters.');
});

test('a lockout says how long it lasts, in minutes', () => {
  const error = new ApiError('RATE_LIMITED', 'locked', {
    reason: 'too_many_failed_logins',
    retryAfter: 297,
  });
  expect(errorText(error)).toContain('locked for 5 min');
});

test('a short wait is said in seconds', () => {
  const error = new ApiError('RATE_LIMITED', 'slow down', {
    reason: 'prompts_per_minute',
    limit: 10,
    retryAfter: 12,
  });
  expect(errorText(error)).toBe('At most 10 prompts a minute. Try again in 12 s.');
});

test('an unknown reason falls back to what its code means', () => {
  expect(errorText(new ApiError('NOT_FOUND', 'x', { reason: 'something_new' }))).toBe(
    'Not found: it may have been deleted.',
  );
});
