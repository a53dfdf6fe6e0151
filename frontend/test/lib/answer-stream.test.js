import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { followAnswer, readAnswer } from '../../src/lib/answer-stream.js';
import { ApiError } from '../../src/lib/errors.js';
import { fakeSubscriptions, post } from '../fakes.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal('requestAnimationFrame', (callback) => setTimeout(callback, 16));
  vi.stubGlobal('cancelAnimationFrame', (frame) => clearTimeout(frame));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

function handlers() {
  return { onPost: vi.fn(), onText: vi.fn(), onDone: vi.fn(), onError: vi.fn() };
}

const event = (delta, changes = {}, done = false) => ({
  postStream: { delta, done, post: post('p1', { status: 'STREAMING', ...changes }) },
});

describe('followAnswer', () => {
  test('the answer is followed by postStream, safe to make again', () => {
    const client = fakeSubscriptions();
    followAnswer(client, 'p1', handlers());
    const [subscription] = client.subscriptions;
    expect(subscription.payload.query).toContain('postStream(postId: $postId)');
    expect(subscription.payload.variables).toEqual({ postId: 'p1' });
  });

  test('text is delivered whole, once per frame, and in full when the answer ends', () => {
    const client = fakeSubscriptions();
    const on = handlers();
    followAnswer(client, 'p1', on);
    const { sink } = client.subscriptions[0];
    sink.next(event('Hel'));
    sink.next(event('lo'));
    expect(on.onText).not.toHaveBeenCalled();
    vi.advanceTimersByTime(16);
    expect(on.onText.mock.calls).toEqual([['Hello']]);
    sink.next(event('!', { status: 'COMPLETE' }, true));
    expect(on.onText).toHaveBeenLastCalledWith('Hello!');
    expect(on.onDone).toHaveBeenCalledWith(
      expect.objectContaining({ status: 'COMPLETE' }),
      'Hello!',
    );
    expect(on.onPost.mock.calls.map(([changed]) => changed.status)).toEqual([
      'STREAMING',
      'COMPLETE',
    ]);
  });

  test('after a restart the server sends the text so far again: it replaces, never doubles', () => {
    const client = fakeSubscriptions();
    const on = handlers();
    followAnswer(client, 'p1', on);
    const { sink } = client.subscriptions[0];
    sink.next(event('one two'));
    sink.restart();
    sink.next(event('one two three'));
    sink.next(event('', { status: 'COMPLETE' }, true));
    expect(on.onDone.mock.calls[0][1]).toBe('one two three');
  });

  test('an error ends it once, with the post known so far', () => {
    const client = fakeSubscriptions();
    const on = handlers();
    followAnswer(client, 'p1', on);
    const { sink } = client.subscriptions[0];
    sink.next(event('x'));
    sink.error(new ApiError('NETWORK'));
    sink.complete();
    expect(on.onError).toHaveBeenCalledOnce();
    expect(on.onError.mock.calls[0][1]).toMatchObject({ id: 'p1' });
    expect(on.onDone).not.toHaveBeenCalled();
  });

  test('a stream that completes before naming its post is an error', () => {
    const client = fakeSubscriptions();
    const on = handlers();
    followAnswer(client, 'p1', on);
    client.subscriptions[0].sink.complete();
    expect(on.onError.mock.calls[0][0].code).toBe('INTERNAL_SERVER_ERROR');
  });

  test('cancel stops listening and delivers nothing more', () => {
    const client = fakeSubscriptions();
    const on = handlers();
    const cancel = followAnswer(client, 'p1', on);
    const [subscription] = client.subscriptions;
    subscription.sink.next(event('x'));
    cancel();
    vi.advanceTimersByTime(100);
    subscription.sink.next(event('y', {}, true));
    expect(subscription.ended).toBe(true);
    expect(on.onText).not.toHaveBeenCalled();
    expect(on.onDone).not.toHaveBeenCalled();
  });
});

describe('readAnswer', () => {
  test('reads a post and its whole answer through postStream', async () => {
    const client = fakeSubscriptions();
    const reading = readAnswer(client, 'p7');
    const [subscription] = client.subscriptions;
    expect(subscription.payload.variables).toEqual({ postId: 'p7' });
    subscription.sink.next({
      postStream: { delta: 'All of it', done: true, post: post('p7', { model: 'big' }) },
    });
    await expect(reading).resolves.toMatchObject({ id: 'p7', model: 'big', body: 'All of it' });
  });

  test('a post that cannot be read is an error', async () => {
    const client = fakeSubscriptions();
    const reading = readAnswer(client, 'gone');
    client.subscriptions[0].sink.error(new ApiError('NOT_FOUND'));
    await expect(reading).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
