// What an error means, in the page's language: from its stable `reason` and the numbers the
// API sends with it (`extensions`: min, max, limit, retryAfter), never from the server's
// English message.
import { t } from '../i18n/index.js';

// The reasons the page words itself (`reason.<reason>` in the message catalogs).
const WORDED = new Set([
  'account_disabled',
  'answer_in_flight',
  'answer_not_cut_off',
  'answers_in_flight',
  'instructions_too_long',
  'max_tokens',
  'password_length',
  'prompt_empty',
  'prompt_too_long',
  'prompts_per_minute',
  'server_busy',
  'signup_disabled',
  'streams_per_user',
  'temperature',
  'title_empty',
  'title_too_long',
  'too_many_failed_logins',
  'too_many_signups',
  'username_format',
  'username_taken',
  'wrong_credentials',
  'wrong_password',
]);

/**
 * How long `seconds` is, said in whole minutes from a minute on: `{ key, params }` of
 * `duration.seconds` or `duration.minutes`.
 */
export function durationText(seconds) {
  const whole = Math.max(1, Math.round(Number(seconds) || 0));
  if (whole < 60) return t('duration.seconds', { count: whole });
  return t('duration.minutes', { count: Math.ceil(whole / 60) });
}

/**
 * The message for an ApiError: its reason's own wording when the page has one, else what
 * its code means.
 *
 *   errorText(new ApiError('BAD_USER_INPUT', '…', { reason: 'password_length', min: 8, max: 1024 }))
 *   // 'The password must be 8 to 1024 characters.'
 */
export function errorText(error) {
  const extensions = error?.extensions ?? {};
  if (WORDED.has(extensions.reason)) {
    const params = { ...extensions };
    if (extensions.retryAfter !== undefined) params.wait = durationText(extensions.retryAfter);
    return t(`reason.${extensions.reason}`, params);
  }
  return t(`error.${error?.code ?? 'INTERNAL_SERVER_ERROR'}`);
}
