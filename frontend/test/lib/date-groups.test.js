import { describe, expect, it } from 'vitest';
import { dateGroupOf, groupConversations } from '../../src/lib/date-groups.js';

// A Thursday afternoon, local time.
const NOW = new Date(2026, 11, 3, 15, 30);
const at = (year, month, day, hour = 12) => new Date(year, month, day, hour).toISOString();

describe('dateGroupOf', () => {
  it('puts the current calendar day in Today, even just after midnight', () => {
    expect(dateGroupOf(at(2026, 11, 3, 0), NOW).kind).toBe('today');
    expect(dateGroupOf(at(2026, 11, 3, 15), NOW).kind).toBe('today');
  });

  it('puts the day before in Yesterday, however late or early', () => {
    expect(dateGroupOf(at(2026, 11, 2, 23), NOW).kind).toBe('yesterday');
    expect(dateGroupOf(at(2026, 11, 2, 0), NOW).kind).toBe('yesterday');
  });

  it('puts 2 to 7 days ago in Previous 7 days', () => {
    expect(dateGroupOf(at(2026, 11, 1), NOW).kind).toBe('week');
    expect(dateGroupOf(at(2026, 10, 26), NOW).kind).toBe('week');
  });

  it('groups anything older by its month', () => {
    const group = dateGroupOf(at(2026, 10, 25), NOW);
    expect(group).toMatchObject({ kind: 'month', key: '2026-11' });
    expect(group.month.getMonth()).toBe(10);
    expect(dateGroupOf(at(2025, 11, 31), NOW).key).toBe('2025-12');
  });

  it('counts a date ahead of the clock, or an unreadable one, as today', () => {
    expect(dateGroupOf(at(2026, 11, 4), NOW).kind).toBe('today');
    expect(dateGroupOf('not a date', NOW).kind).toBe('today');
  });

  it('counts days across a month and a year boundary', () => {
    const newYear = new Date(2027, 0, 1, 9);
    expect(dateGroupOf(at(2026, 11, 31), newYear).kind).toBe('yesterday');
    expect(dateGroupOf(at(2026, 11, 25), newYear).kind).toBe('week');
    expect(dateGroupOf(at(2026, 11, 24), newYear).key).toBe('2026-12');
  });
});

describe('groupConversations', () => {
  it('puts pinned first, then the date groups in order, leaving out empty ones', () => {
    const items = [
      { id: 'a', updatedAt: at(2026, 11, 3) },
      { id: 'p1', updatedAt: at(2026, 11, 3), pinnedAt: at(2026, 10, 1) },
      { id: 'b', updatedAt: at(2026, 11, 2) },
      { id: 'c', updatedAt: at(2026, 9, 20) },
      { id: 'p2', updatedAt: at(2025, 0, 1), pinnedAt: at(2026, 11, 1) },
      { id: 'd', updatedAt: at(2026, 9, 2) },
      { id: 'e', updatedAt: at(2026, 8, 2) },
    ];
    const groups = groupConversations(items, NOW);
    expect(groups.map((group) => group.key)).toEqual([
      'pinned',
      'today',
      'yesterday',
      '2026-10',
      '2026-09',
    ]);
    expect(groups[0].items.map((item) => item.id)).toEqual(['p2', 'p1']);
    expect(groups[3].items.map((item) => item.id)).toEqual(['c', 'd']);
  });

  it('gives no sections for no conversations', () => {
    expect(groupConversations([], NOW)).toEqual([]);
  });
});
