// @vitest-environment node
import { expect, test } from 'vitest';
import {
  parseQuota,
  quotaErrorText,
  quotaLeft,
  totalTokens,
  usageChart,
} from '../../src/lib/usage.js';

const day = (date, promptTokens, completionTokens) => ({
  day: date,
  promptTokens,
  completionTokens,
  prompts: 1,
});

test('the tallest day fills the chart and the others scale to it', () => {
  const chart = usageChart([day('d1', 10, 10), day('d2', 0, 0), day('d3', 30, 10)], {
    width: 300,
    height: 100,
    gap: 0,
  });
  expect(chart.most).toBe(40);
  expect(chart.bars.map((bar) => bar.height)).toEqual([50, 0, 100]);
  expect(chart.bars.map((bar) => bar.y)).toEqual([50, 100, 0]);
  expect(chart.bars.map((bar) => bar.x)).toEqual([0, 100, 200]);
  expect(chart.bars[2].width).toBe(100);
});

test('a day with a little use still shows; a chart of no use draws no bar', () => {
  const chart = usageChart([day('d1', 1, 0), day('d2', 100000, 0)], { width: 20, height: 50 });
  expect(chart.bars[0].height).toBe(1);
  const empty = usageChart([day('d1', 0, 0)], { width: 20, height: 50 });
  expect(empty.bars[0].height).toBe(0);
  expect(usageChart([], { width: 20, height: 50 }).bars).toEqual([]);
});

test('totals add prompt and completion tokens', () => {
  expect(totalTokens([day('d1', 3, 4), day('d2', 5, 0)])).toBe(12);
});

test('what is left of a quota never goes below zero, and none is null', () => {
  expect(
    quotaLeft({ dailyTokens: 100, monthlyTokens: null, usedToday: 130, usedThisMonth: 500 }),
  ).toEqual({ daily: 0, monthly: null });
  expect(
    quotaLeft({ dailyTokens: 100, monthlyTokens: 1000, usedToday: 30, usedThisMonth: 500 }),
  ).toEqual({ daily: 70, monthly: 500 });
  expect(quotaLeft(null)).toEqual({ daily: null, monthly: null });
});

test('a quota error is worded by which quota it is, with its limit and reset time', () => {
  expect(
    quotaErrorText({ reason: 'monthly_token_quota', limit: 5, resetsAt: '2030-02-01T00:00:00' }),
  ).toEqual({
    key: 'quota.exceededMonthly',
    params: { limit: 5, resetsAt: '2030-02-01T00:00:00' },
  });
  expect(quotaErrorText({ reason: 'daily_token_quota', limit: 1 }).key).toBe('quota.exceededDaily');
});

test('a typed quota is a whole number of tokens, or empty for the default', () => {
  expect(parseQuota(' 1500 ')).toEqual({ value: 1500, valid: true });
  expect(parseQuota('')).toEqual({ value: null, valid: true });
  expect(parseQuota('2147483647')).toEqual({ value: 2147483647, valid: true });
  for (const bad of ['-1', '1.5', 'abc', '1e9', '2147483648', '9999999999999999']) {
    expect(parseQuota(bad).valid).toBe(false);
  }
});
