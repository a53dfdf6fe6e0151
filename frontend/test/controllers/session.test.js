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

function refreshReply(token, ok = true) {
  return {
    ok,
    status: ok ? 200 : 401,
    json: async () => ({
      token,
      user,
      expiresAt: new Date(Date.now() + 900_000).toISOString(),
    }),
  };
}

test('a kept session is renewed through the cookie before its token expires', async () => {
  const fetch = vi.fn(async () => refreshReply('renewed'));
  vi.stubGlobal('fetch', fetch);
  const onExpired = vi.fn();
  const sessions = new SessionController(fakeHost(), { onExpired });
  sessions.logIn({
    token: 't',
    user,
    expiresAt: new Date(Date.now() + 120_000).toISOString(),
    remembered: true,
  });
  expect(localStorage.getItem('chat.remembered')).toBe('1');
  await vi.advanceTimersByTimeAsync(60_001);
  expect(fetch).toHaveBeenCalledOnce();
  expect(fetch.mock.calls[0][1].headers).toEqual({ 'x-chat-refresh': '1' });
  expect(sessions.token).toBe('renewed');
  expect(onExpired).not.toHaveBeenCalled();
  vi.unstubAllGlobals();
});

test('a kept session whose cookie is refused ends once, and is kept no more', async () => {
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => refreshReply('', false)),
  );
  const onExpired = vi.fn();
  const sessions = new SessionController(fakeHost(), { onExpired });
  sessions.logIn({
    token: 't',
    user,
    expiresAt: new Date(Date.now() + 120_000).toISOString(),
    remembered: true,
  });
  sessions.expire();
  sessions.expire();
  await vi.advanceTimersByTimeAsync(0);
  expect(onExpired).toHaveBeenCalledExactlyOnceWith(user);
  expect(sessions.session).toBeNull();
  expect(localStorage.getItem('chat.remembered')).toBeNull();
  vi.unstubAllGlobals();
});

test('a logout ends the session in the other tabs too', () => {
  const onSignedOutElsewhere = vi.fn();
  const host = fakeHost();
  const other = new SessionController(fakeHost(), { onExpired: vi.fn(), onSignedOutElsewhere });
  other.hostConnected();
  other.logIn({ token: 'o', user, expiresAt: new Date(Date.now() + 60_000).toISOString() });
  const here = new SessionController(host, { onExpired: vi.fn() });
  here.hostConnected();
  here.end({ everywhere: true });
  return vi.waitFor(() => expect(onSignedOutElsewhere).toHaveBeenCalledOnce());
});
