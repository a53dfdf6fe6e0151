import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { AnswersInFlight } from '../../src/controllers/answers-in-flight.js';
import { PostPages } from '../../src/controllers/post-pages.js';
import { ApiError } from '../../src/lib/errors.js';
import { fakeGraphQL, fakeHost, fakeSubscriptions, post } from '../fakes.js';

beforeEach(() => {
  vi.stubGlobal('requestAnimationFrame', (callback) => setTimeout(callback, 0));
  vi.stubGlobal('cancelAnimationFrame', (frame) => clearTimeout(frame));
});

afterEach(() => vi.unstubAllGlobals());

function setUp(answers = {}) {
  const host = fakeHost();
  const graphql = fakeGraphQL({
    StartPrompt: () => ({ startPrompt: post('p1', { status: 'PENDING', body: '' }) }),
    ...answers,
  });
  const subscriptions = fakeSubscriptions();
  const pages = new PostPages(host, { graphql: () => graphql });
  const on = { onAccepted: vi.fn(), onFinished: vi.fn(), onError: vi.fn() };
  const answersInFlight = new AnswersInFlight(host, {
    pages,
    graphql: () => graphql,
    subscriptions: () => subscriptions,
    wait: async () => {},
    ...on,
  });
  return { host, graphql, subscriptions, pages, on, answers: answersInFlight };
}

// Stream events carry the post without its body: the text comes as deltas.
function streamEvent(status, delta = '', done = false) {
  const { body: _body, ...streamed } = post('p1', { status });
  return { postStream: { delta, done, post: streamed } };
}

describe('AnswersInFlight', () => {
  test('a prompt shows as a placeholder until started by startPrompt, then follows postStream', async () => {
    const { answers, pages, subscriptions, graphql, on } = setUp();
    const asked = answers.ask('Hi', {
      options: { language: 'English' },
      conversationId: async () => 'c1',
    });
    expect(answers.sending).toBe(true);
    await Promise.resolve();
    expect(pages.posts).toMatchObject([{ local: true, prompt: 'Hi', status: 'PENDING' }]);
    await asked;
    const [start] = graphql.calls;
    expect(start.name).toBe('StartPrompt');
    expect(start.variables).toMatchObject({
      conversationId: 'c1',
      prompt: 'Hi',
      options: { language: 'English' },
      parentId: null,
    });
    expect(start.variables.clientId).toMatch(/^[0-9a-f]{32}$/);
    expect(on.onAccepted).toHaveBeenCalledWith(expect.objectContaining({ id: 'p1' }));
    expect(answers.sending).toBe(false);
    expect(answers.live).toMatchObject({ id: 'p1', local: false, status: 'PENDING' });
    expect(answers.busy).toBe(true);
    const [subscription] = subscriptions.subscriptions;
    expect(subscription.payload.variables).toEqual({ postId: 'p1' });
    subscription.sink.next(streamEvent('STREAMING', 'Hel'));
    subscription.sink.next(streamEvent('COMPLETE', 'lo', true));
    expect(on.onFinished).toHaveBeenCalledWith(
      expect.objectContaining({ status: 'COMPLETE' }),
      'Hello',
    );
    expect(pages.posts).toMatchObject([{ id: 'p1', body: 'Hello', status: 'COMPLETE' }]);
    expect(answers.busy).toBe(false);
  });

  test('a start lost on the network is sent again with the same clientId', async () => {
    let attempts = 0;
    const { answers, graphql, subscriptions } = setUp({
      StartPrompt: () => {
        attempts += 1;
        if (attempts < 3) throw new ApiError('NETWORK');
        return { startPrompt: post('p1', { status: 'PENDING' }) };
      },
    });
    await answers.ask('Hi', { conversationId: async () => null });
    const ids = graphql.calls.map((call) => call.variables.clientId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    expect(subscriptions.subscriptions).toHaveLength(1);
  });

  test('every prompt gets a clientId of its own', async () => {
    const { answers, graphql, subscriptions } = setUp();
    await answers.ask('one', { conversationId: async () => 'c1' });
    subscriptions.subscriptions[0].sink.next(streamEvent('COMPLETE', 'x', true));
    await answers.ask('two', { conversationId: async () => 'c1' });
    const [first, second] = graphql.calls.map((call) => call.variables.clientId);
    expect(first).not.toBe(second);
  });

  test('one prompt at a time', async () => {
    const { answers, graphql } = setUp();
    await answers.ask('one', { conversationId: async () => 'c1' });
    await answers.ask('two', { conversationId: async () => 'c1' });
    expect(graphql.calls).toHaveLength(1);
  });

  test('a prompt the server refuses is taken back out', async () => {
    const { answers, pages, subscriptions, graphql, on } = setUp({
      StartPrompt: () => {
        throw new ApiError('RATE_LIMITED');
      },
    });
    await answers.ask('Hi', { conversationId: async () => null });
    expect(graphql.calls).toHaveLength(1); // refused, not lost: not sent again
    expect(pages.posts).toEqual([]);
    expect(subscriptions.subscriptions).toEqual([]);
    expect(answers.sending).toBe(false);
    expect(on.onError.mock.calls[0][0].code).toBe('RATE_LIMITED');
    expect(on.onAccepted).not.toHaveBeenCalled();
  });

  test('a start still lost after its retries is reported and taken back out', async () => {
    const { answers, pages, graphql, on } = setUp({
      StartPrompt: () => {
        throw new ApiError('NETWORK');
      },
    });
    await answers.ask('Hi', { conversationId: async () => null });
    expect(graphql.calls).toHaveLength(5);
    expect(pages.posts).toEqual([]);
    expect(on.onError.mock.calls[0][0].code).toBe('NETWORK');
  });

  test('a failure before the prompt goes out is reported and nothing is added', async () => {
    const { answers, pages, subscriptions, on } = setUp();
    await answers.ask('Hi', {
      conversationId: async () => {
        throw new ApiError('NETWORK');
      },
    });
    expect([pages.posts, subscriptions.subscriptions, answers.sending]).toEqual([[], [], false]);
    expect(on.onError).toHaveBeenCalledOnce();
  });

  test('an answer whose stream fails is marked failed, its text kept', async () => {
    const { answers, pages, subscriptions } = setUp();
    await answers.ask('Hi', { conversationId: async () => 'c1' });
    const { sink } = subscriptions.subscriptions[0];
    sink.next(streamEvent('STREAMING', 'partial'));
    sink.error(new ApiError('NOT_FOUND', 'Not found.'));
    expect(pages.posts).toMatchObject([
      { id: 'p1', status: 'FAILED', error: 'Not found.', body: 'partial' },
    ]);
  });

  test('a prompt continues the branch shown: its parent is the last post', async () => {
    const { answers, pages, graphql } = setUp();
    pages.append({ ...post('p1'), key: 'p1' });
    pages.append({ ...post('p2'), key: 'p2' });
    await answers.ask('Next', { conversationId: async () => 'c1' });
    const start = graphql.calls.find((call) => call.name === 'StartPrompt');
    expect(start.variables).toMatchObject({ conversationId: 'c1', parentId: 'p2' });
  });

  test('regenerate shows the new version in place of the post and drops what followed', async () => {
    const { answers, pages, subscriptions, graphql } = setUp({
      RegeneratePost: () => ({
        regeneratePost: post('p3', { status: 'PENDING', body: 'x', siblingIds: ['p1', 'p3'] }),
      }),
    });
    pages.append({ ...post('p1'), key: 'p1' });
    pages.append({ ...post('p2'), key: 'p2' });
    await answers.regenerate(pages.posts[0], { options: { model: 'big' } });
    expect(graphql.calls).toEqual([
      { name: 'RegeneratePost', variables: { postId: 'p1', options: { model: 'big' } } },
    ]);
    // The item keeps its key (and so its place and focus); its versions are both there.
    expect(pages.posts).toMatchObject([
      { id: 'p3', key: 'p1', body: '', status: 'PENDING', siblingIds: ['p1', 'p3'] },
    ]);
    expect(subscriptions.subscriptions[0].payload.variables).toEqual({ postId: 'p3' });
    expect(answers.sending).toBe(false);
    subscriptions.subscriptions[0].sink.next({
      postStream: { delta: 'New', done: true, post: post('p3', { status: 'COMPLETE' }) },
    });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(pages.posts).toMatchObject([{ id: 'p3', body: 'New', siblingIds: ['p1', 'p3'] }]);
  });

  test('an edit sends the new prompt as a version of the post and follows its answer', async () => {
    const { answers, pages, subscriptions, graphql } = setUp({
      EditPrompt: () => ({ editPrompt: post('p9', { prompt: 'Better', status: 'PENDING' }) }),
    });
    pages.append({ ...post('p1'), key: 'p1' });
    pages.append({ ...post('p2'), key: 'p2' });
    expect(await answers.edit(pages.posts[1], 'Better', { options: null })).toBe(true);
    expect(graphql.calls).toEqual([
      { name: 'EditPrompt', variables: { postId: 'p2', prompt: 'Better', options: null } },
    ]);
    expect(pages.posts).toMatchObject([
      { id: 'p1', key: 'p1' },
      { id: 'p9', key: 'p2', prompt: 'Better' },
    ]);
    expect(subscriptions.subscriptions[0].payload.variables).toEqual({ postId: 'p9' });
  });

  test('an edit the server refuses leaves the posts as they were', async () => {
    const refusal = new ApiError('BAD_USER_INPUT', 'too long');
    const { answers, pages, on } = setUp({
      EditPrompt: () => {
        throw refusal;
      },
    });
    pages.append({ ...post('p1'), key: 'p1' });
    expect(await answers.edit(pages.posts[0], 'x'.repeat(9))).toBe(false);
    expect(pages.posts).toMatchObject([{ id: 'p1', key: 'p1' }]);
    expect(on.onError).toHaveBeenCalledWith(refusal);
    expect(answers.sending).toBe(false);
  });

  test('stop asks the server to stop the post being written', async () => {
    const { answers, pages, graphql } = setUp({ StopGeneration: () => ({ stopGeneration: {} }) });
    pages.append({ ...post('p1', { status: 'STREAMING' }), key: 'p1' });
    await answers.stop();
    expect(graphql.calls).toEqual([{ name: 'StopGeneration', variables: { postId: 'p1' } }]);
  });

  test('reattach follows only the answers still being written', () => {
    const { answers, subscriptions } = setUp();
    answers.reattach([
      { ...post('p1'), key: 'p1' },
      { ...post('p2', { status: 'STREAMING' }), key: 'p2' },
    ]);
    expect(subscriptions.subscriptions.map((each) => each.payload.variables)).toEqual([
      { postId: 'p2' },
    ]);
  });

  test('leaving the page stops following; the answers go on on the server', async () => {
    const { answers, host, subscriptions } = setUp();
    await answers.ask('Hi', { conversationId: async () => 'c1' });
    for (const controller of host.controllers) controller.hostDisconnected?.();
    expect(subscriptions.subscriptions[0].ended).toBe(true);
    expect(answers.sending).toBe(false);
  });

  test('a start that returns after the page moved on is not followed there', async () => {
    let release;
    const { answers, subscriptions } = setUp({
      StartPrompt: () =>
        new Promise((resolve) => {
          release = () => resolve({ startPrompt: post('p1', { status: 'PENDING' }) });
        }),
    });
    const asked = answers.ask('Hi', { conversationId: async () => 'c1' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    answers.abandon();
    release();
    await asked;
    expect(subscriptions.subscriptions).toEqual([]);
    expect(answers.sending).toBe(false);
  });
});
