// Usage and quotas as the usage panel and the admin page show them: a bar chart of tokens
// per day, what is left of a quota, and how to word a QUOTA_EXCEEDED error.
//
//   const chart = usageChart(days, { width: 300, height: 120 });   // bars to draw as SVG
//   const left = quotaLeft(quota);     // { daily, monthly }: tokens left, or null (no quota)
//   const { key, params } = quotaErrorText(error.extensions);     // for t(key, params)

/** Prompt and completion tokens of one day together. */
export function dayTokens(day) {
  return (day.promptTokens ?? 0) + (day.completionTokens ?? 0);
}

/** Tokens of all the days given. */
export function totalTokens(days) {
  return days.reduce((sum, day) => sum + dayTokens(day), 0);
}

/**
 * The bars of a chart of tokens per day, oldest on the left: each `{ day, tokens, x, y,
 * width, height }` in a `width` x `height` box, the tallest day filling it. A day with some
 * use always shows (at least one unit tall); a day without shows nothing.
 */
export function usageChart(days, { width, height, gap = 1 }) {
  const most = Math.max(0, ...days.map(dayTokens));
  const slot = days.length ? width / days.length : 0;
  const bars = days.map((day, index) => {
    const tokens = dayTokens(day);
    const tall = most === 0 || tokens === 0 ? 0 : Math.max(1, (tokens / most) * height);
    return {
      day: day.day,
      tokens,
      x: index * slot + gap / 2,
      y: height - tall,
      width: Math.max(0, slot - gap),
      height: tall,
    };
  });
  return { bars, most, width, height };
}

/** Tokens left of each quota (never below zero), or null where there is none. */
export function quotaLeft(quota) {
  if (!quota) return { daily: null, monthly: null };
  const left = (limit, used) => (limit == null ? null : Math.max(0, limit - used));
  return {
    daily: left(quota.dailyTokens, quota.usedToday),
    monthly: left(quota.monthlyTokens, quota.usedThisMonth),
  };
}

/** The message key and its parameters for a QUOTA_EXCEEDED error's `extensions`. */
export function quotaErrorText(extensions = {}) {
  const key =
    extensions.reason === 'monthly_token_quota' ? 'quota.exceededMonthly' : 'quota.exceededDaily';
  return { key, params: { limit: extensions.limit ?? '', resetsAt: extensions.resetsAt ?? '' } };
}

// The largest quota the API takes (GraphQL's Int).
export const MAX_QUOTA = 2 ** 31 - 1;

/** A quota typed in a form: a whole number of tokens, or null (empty: the server's default). */
export function parseQuota(text) {
  const trimmed = String(text ?? '').trim();
  if (trimmed === '') return { value: null, valid: true };
  if (!/^\d{1,10}$/.test(trimmed) || Number(trimmed) > MAX_QUOTA) {
    return { value: null, valid: false };
  }
  return { value: Number(trimmed), valid: true };
}
