import { afterEach, expect, test, vi } from 'vitest';
import { RouteController } from '../../src/controllers/route.js';
import { fakeHost } from '../fakes.js';

afterEach(() => {
  window.location.hash = '';
});

function hashChanged() {
  return new Promise((resolve) => window.addEventListener('hashchange', resolve, { once: true }));
}

test('follows the URL and changes it', async () => {
  window.location.hash = '#/c/c1';
  const host = fakeHost();
  const onChange = vi.fn();
  const router = new RouteController(host, { onChange });
  router.hostConnected();
  expect(router.route).toEqual({ conversationId: 'c1', focusPost: null });

  router.openPost({ conversationId: 'c2', postId: 'p1', cursor: 'x' });
  await hashChanged();
  expect(router.route).toEqual({ conversationId: 'c2', focusPost: { postId: 'p1', cursor: 'x' } });
  expect(onChange).toHaveBeenCalledWith(router.route);
  expect(host.updates).toBe(1);

  router.openNewChat();
  await hashChanged();
  expect(router.route.conversationId).toBeNull();
  router.hostDisconnected();
});
