// The sidebar's sections: pinned conversations first, then the others by when they were last
// active, as people know from other chat products (Today, Yesterday, Previous 7 days, then one
// section per month). Days are the reader's local calendar days.

const DAY_MS = 24 * 60 * 60 * 1000;

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

/** Calendar days between `date` and `now` (0 today, 1 yesterday; negative in the future). */
function daysAgo(date, now) {
  return Math.round((startOfDay(now) - startOfDay(date)) / DAY_MS);
}

/**
 * The group one date falls in: `{ key, kind, month? }` where kind is 'today', 'yesterday',
 * 'week' (2 to 7 days ago) or 'month' (older; `month` is a Date on its first day). A date in
 * the future (a clock ahead of the reader's) counts as today.
 */
export function dateGroupOf(iso, now = new Date()) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return { key: 'today', kind: 'today' };
  const days = daysAgo(date, now);
  if (days <= 0) return { key: 'today', kind: 'today' };
  if (days === 1) return { key: 'yesterday', kind: 'yesterday' };
  if (days <= 7) return { key: 'week', kind: 'week' };
  const month = new Date(date.getFullYear(), date.getMonth(), 1);
  const key = `${month.getFullYear()}-${String(month.getMonth() + 1).padStart(2, '0')}`;
  return { key, kind: 'month', month };
}

/**
 * Split conversations into sections, in order: `[{ key, kind, month?, items }]`. Pinned ones
 * (a `pinnedAt`) form the first section (kind 'pinned'), most recently pinned first; the
 * others keep their order (newest activity first) within their date group. Empty sections
 * are left out.
 */
export function groupConversations(items, now = new Date()) {
  const pinned = items
    .filter((item) => item.pinnedAt)
    .sort((a, b) => (a.pinnedAt < b.pinnedAt ? 1 : a.pinnedAt > b.pinnedAt ? -1 : 0));
  const groups = pinned.length ? [{ key: 'pinned', kind: 'pinned', items: pinned }] : [];
  const byKey = new Map();
  for (const item of items) {
    if (item.pinnedAt) continue;
    const group = dateGroupOf(item.updatedAt, now);
    let section = byKey.get(group.key);
    if (!section) {
      section = { ...group, items: [] };
      byKey.set(group.key, section);
      groups.push(section);
    }
    section.items.push(item);
  }
  return groups;
}
