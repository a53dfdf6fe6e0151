import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { SessionController } from '../../src/controllers/session.js';
import { loadSession } from '../../src/lib/session.js';
import { fakeHost } from '../fakes.js';

const user = { id: 'u1', username: 'ana' };

beforeEach(() => {
  sessionStorage.clear();
  vi.useFakeTimers();
});

afterEach(() => vi.useRealTimers());

test('a login is saved and ends by itself when it expires', () => {
  const onExpired = vi.fn();
  const sessions = new SessionController(fakeHost(), { onExpired });
  expect(sessions.session).toBeNull();
  sessions.logIn({ token: 't', user, expiresAt: new Date(Date.now() + 5000).toISOString() });
  expect([sessions.token, loadSession().token]).toEqual(['t', 't']);
  vi.advanceTimersByTime(5001);
  expect(sessions.session).toBeNull();
  expect(loadSession()).toBeNull();
  expect(onExpired).toHaveBeenCalledExactlyOnceWith(user);
});

test('a session saved in the tab is picked up, and ending it is no expiry', () => {
  sessionStorage.setItem(
    'chat.session',
    JSON.stringify({ token: 't', user, expiresAt: new Date(Date.now() + 60_000).toISOString() }),
  );
  const onExpired = vi.fn();
  const sessions = new SessionController(fakeHost(), { onExpired });
  expect(sessions.session.user).toEqual(user);
  sessions.end();
  sessions.expire();
  expect(onExpired).not.toHaveBeenCalled();
  expect(sessions.token).toBeNull();
});
