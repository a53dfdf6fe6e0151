// @vitest-environment node
import { expect, test, vi } from 'vitest';
import {
  sessionFromRefreshCookie,
  signOnProviders,
  takeSignOnResult,
} from '../../src/lib/single-sign-on.js';

function fakeHistory() {
  return { state: { kept: true }, replaceState: vi.fn() };
}

test('only providers whose login URL is a path of this server are offered', () => {
  const serverInfo = {
    singleSignOn: [
      { name: 'Corp', loginUrl: '/auth/oidc/login' },
      { name: 'Evil', loginUrl: 'javascript:alert(1)' },
      { name: 'Elsewhere', loginUrl: '//evil.example/login' },
      { name: 'Backslash', loginUrl: '/\\evil.example' },
      { name: 'Absolute', loginUrl: 'https://evil.example/' },
      { name: 'Broken' },
    ],
  };
  expect(signOnProviders(serverInfo)).toEqual([{ name: 'Corp', loginUrl: '/auth/oidc/login' }]);
  expect(signOnProviders(null)).toEqual([]);
});

test('a signed-in return is read and taken out of the address', () => {
  const history = fakeHistory();
  const result = takeSignOnResult({ href: 'http://chat.test/?sso=signed-in#/c/7' }, history);
  expect(result).toEqual({ signedIn: true });
  expect(history.replaceState).toHaveBeenCalledExactlyOnceWith({ kept: true }, '', '/#/c/7');
});

test('a refused sign-in gives the message of its reason, and an unknown reason a generic one', () => {
  const history = fakeHistory();
  expect(
    takeSignOnResult({ href: 'http://chat.test/?sso_error=signup_disabled' }, history),
  ).toEqual({ errorKey: 'login.sso.signup_disabled' });
  expect(
    takeSignOnResult({ href: 'http://chat.test/?sso_error=%3Cimg%20src%3Dx%3E' }, history),
  ).toEqual({ errorKey: 'login.sso.sso_failed' });
  expect(history.replaceState).toHaveBeenCalledTimes(2);
});

test('an address without a sign-on result is left alone', () => {
  const history = fakeHistory();
  expect(takeSignOnResult({ href: 'http://chat.test/?other=1#/c/1' }, history)).toBeNull();
  expect(history.replaceState).not.toHaveBeenCalled();
});

test('the refresh cookie is exchanged with the header the server asks for', async () => {
  const session = { token: 't', user: { id: '1', username: 'ana' }, expiresAt: 'later' };
  const fetchImpl = vi.fn(async () => ({ ok: true, json: async () => session }));
  expect(await sessionFromRefreshCookie(fetchImpl)).toEqual(session);
  expect(fetchImpl).toHaveBeenCalledExactlyOnceWith('/auth/refresh', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'x-chat-refresh': '1' },
  });
});

test('a refused exchange is an error', async () => {
  const fetchImpl = vi.fn(async () => ({ ok: false, status: 401 }));
  await expect(sessionFromRefreshCookie(fetchImpl)).rejects.toThrow('401');
});
