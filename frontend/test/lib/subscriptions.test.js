// The transport under the answers: the real graphql-ws library over a stand-in browser
// WebSocket, and the real GraphQLClient's HTTP streams over a stand-in fetch.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { GraphQLClient } from '../../src/lib/graphql.js';
import { FIRST_WEBSOCKET_RETRY_MS, SubscriptionClient } from '../../src/lib/subscriptions.js';
import { POST_STREAM } from '../../src/lib/operations.js';
import { FakeWebSocket, MULTIPART_CLOSE, fakeStreamingFetch, multipartPart } from '../fakes.js';

const PAYLOAD = { query: POST_STREAM, variables: { postId: 'p1' } };
const event = (delta, done = false) => ({
  postStream: { delta, done, post: { id: 'p1', status: done ? 'COMPLETE' : 'STREAMING' } },
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  FakeWebSocket.instances = [];
  FakeWebSocket.behaviour = 'accept';
});

afterEach(() => vi.useRealTimers());

async function until(predicate, what = 'the condition') {
  for (let tries = 0; tries < 200; tries += 1) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function setUp() {
  const http = fakeStreamingFetch();
  const onUnauthenticated = vi.fn();
  const graphql = new GraphQLClient({ token: () => 'tok', onUnauthenticated, fetch: http.fetch });
  const client = new SubscriptionClient({
    url: 'ws://api/graphql',
    graphql,
    connectionParams: () => ({ authorization: 'Bearer tok' }),
    webSocketImpl: FakeWebSocket,
  });
  const statuses = [];
  client.addEventListener('status', (change) => statuses.push(change.detail));
  return { client, http, statuses, onUnauthenticated };
}

function sink() {
  const received = { data: [], restarts: 0, error: null, completed: false };
  return {
    received,
    next: (data) => received.data.push(data),
    restart: () => (received.restarts += 1),
    error: (error) => (received.error = error),
    complete: () => (received.completed = true),
  };
}

const subscribed = () => FakeWebSocket.instances.at(-1)?.subscriptions.at(-1);

describe('SubscriptionClient', () => {
  test('streams over WebSocket when the socket opens', async () => {
    const { client, http, statuses } = setUp();
    const events = sink();
    client.subscribe(PAYLOAD, events);
    await until(subscribed, 'the subscribe message');
    const socket = FakeWebSocket.instances[0];
    expect(socket.connectionParams).toEqual({ authorization: 'Bearer tok' });
    expect(subscribed().payload.variables).toEqual({ postId: 'p1' });
    socket.next(subscribed().id, event('Hel'));
    socket.next(subscribed().id, event('lo', true));
    socket.complete(subscribed().id);
    await until(() => events.received.completed, 'the end');
    expect(events.received.data).toEqual([event('Hel'), event('lo', true)]);
    expect(http.requests).toEqual([]);
    expect(statuses).toEqual(['connecting', 'connected']);
  });

  test('falls back to HTTP by itself when the socket cannot open, and keeps streaming', async () => {
    FakeWebSocket.behaviour = 'refuse';
    const { client, http, statuses } = setUp();
    const events = sink();
    client.subscribe(PAYLOAD, events);
    await until(() => http.requests.length === 1, 'the HTTP stream');
    const [request] = http.requests;
    expect(request.init.headers.accept).toContain('multipart/mixed');
    expect(request.init.headers.authorization).toBe('Bearer tok');
    expect(JSON.parse(request.init.body).variables).toEqual({ postId: 'p1' });
    request.write(multipartPart({}) + multipartPart({ payload: { data: event('Hel') } }));
    request.write(multipartPart({ payload: { data: event('lo', true) } }) + MULTIPART_CLOSE);
    request.end();
    await until(() => events.received.completed, 'the end');
    expect(events.received.data).toEqual([event('Hel'), event('lo', true)]);
    expect(events.received.error).toBeNull();
    expect(statuses).toEqual(['connecting', 'fallback']);
    expect(client.transport).toBe('http');
  });

  test('a socket cut mid-answer by a proxy carries on over HTTP, the text so far sent again', async () => {
    const { client, http, statuses } = setUp();
    const events = sink();
    client.subscribe(PAYLOAD, events);
    await until(subscribed, 'the subscribe message');
    FakeWebSocket.instances[0].next(subscribed().id, event('one '));
    await until(() => events.received.data.length === 1, 'the first event');
    FakeWebSocket.instances[0].drop();
    await until(() => http.requests.length === 1, 'the HTTP stream');
    expect(events.received.restarts).toBe(1); // the sink expects the whole text again
    http.requests[0].write(multipartPart({ payload: { data: event('one two', true) } }));
    await until(() => events.received.data.length === 2, 'the event over HTTP');
    expect(events.received.data[1]).toEqual(event('one two', true));
    expect(events.received.error).toBeNull();
    expect(statuses.at(-1)).toBe('fallback');
  });

  test('while WebSocket is blocked, new subscriptions go straight over HTTP', async () => {
    FakeWebSocket.behaviour = 'refuse';
    const { client, http } = setUp();
    client.subscribe(PAYLOAD, sink());
    await until(() => http.requests.length === 1, 'the first HTTP stream');
    client.subscribe(PAYLOAD, sink());
    await until(() => http.requests.length === 2, 'the second HTTP stream');
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  test('WebSocket is tried again later, and once it works the note goes', async () => {
    FakeWebSocket.behaviour = 'refuse';
    const { client, http, statuses } = setUp();
    client.subscribe(PAYLOAD, sink());
    await until(() => statuses.at(-1) === 'fallback', 'the fallback');
    vi.setSystemTime(Date.now() + FIRST_WEBSOCKET_RETRY_MS + 1);
    FakeWebSocket.behaviour = 'accept';
    expect(client.transport).toBe('websocket');
    client.subscribe(PAYLOAD, sink());
    await until(() => statuses.at(-1) === 'connected', 'the socket');
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(http.requests).toHaveLength(1);
  });

  test('WebSocket failing again waits longer before the next try', async () => {
    FakeWebSocket.behaviour = 'refuse';
    const { client, http } = setUp();
    client.subscribe(PAYLOAD, sink());
    await until(() => http.requests.length === 1, 'the first HTTP stream');
    vi.setSystemTime(Date.now() + FIRST_WEBSOCKET_RETRY_MS + 1);
    client.subscribe(PAYLOAD, sink());
    await until(() => http.requests.length === 2, 'the second HTTP stream');
    expect(FakeWebSocket.instances).toHaveLength(2);
    vi.setSystemTime(Date.now() + FIRST_WEBSOCKET_RETRY_MS + 1);
    expect(client.transport).toBe('http'); // blocked for twice as long now
  });

  test('one socket cut with two answers on it counts as one WebSocket failure', async () => {
    const { client, http } = setUp();
    client.subscribe(PAYLOAD, sink());
    client.subscribe(PAYLOAD, sink());
    await until(() => FakeWebSocket.instances[0]?.subscriptions.length === 2, 'both subscribed');
    FakeWebSocket.instances[0].drop();
    await until(() => http.requests.length === 2, 'both over HTTP');
    vi.setSystemTime(Date.now() + FIRST_WEBSOCKET_RETRY_MS + 1);
    expect(client.transport).toBe('websocket');
  });

  test('when HTTP fails too it says reconnecting, then both are tried again', async () => {
    FakeWebSocket.behaviour = 'refuse';
    const { client, http, statuses } = setUp();
    http.refuse = true;
    const events = sink();
    client.subscribe(PAYLOAD, events);
    await until(() => statuses.at(-1) === 'reconnecting', 'reconnecting');
    expect(events.received.error).toBeNull();
    // The server is back: WebSocket is tried first again, not left blocked.
    FakeWebSocket.behaviour = 'accept';
    http.refuse = false;
    await until(subscribed, 'the subscribe message after the backoff');
    await until(() => statuses.at(-1) === 'connected', 'connected');
    expect(events.received.restarts).toBeGreaterThanOrEqual(1);
  });

  test('a token refused on the socket is unauthenticated, not a fallback', async () => {
    FakeWebSocket.behaviour = 'forbid';
    const { client, http } = setUp();
    const unauthenticated = vi.fn();
    client.addEventListener('unauthenticated', unauthenticated);
    const events = sink();
    client.subscribe(PAYLOAD, events);
    await until(() => events.received.error, 'the error');
    expect(events.received.error.code).toBe('UNAUTHENTICATED');
    expect(unauthenticated).toHaveBeenCalledOnce();
    expect(http.requests).toEqual([]);
  });

  test('a GraphQL error ends the subscription; it is not taken for a transport failure', async () => {
    const { client, http } = setUp();
    const events = sink();
    client.subscribe(PAYLOAD, events);
    await until(subscribed, 'the subscribe message');
    FakeWebSocket.instances[0].error(subscribed().id, [
      { message: 'Not found.', extensions: { code: 'NOT_FOUND' } },
    ]);
    await until(() => events.received.error, 'the error');
    expect(events.received.error.code).toBe('NOT_FOUND');
    expect(http.requests).toEqual([]);
  });

  test('a GraphQL error over HTTP ends the subscription too', async () => {
    FakeWebSocket.behaviour = 'refuse';
    const { client, http } = setUp();
    const events = sink();
    client.subscribe(PAYLOAD, events);
    await until(() => http.requests.length === 1, 'the HTTP stream');
    http.requests[0].write(
      multipartPart({
        payload: { errors: [{ message: 'no', extensions: { code: 'NOT_FOUND' } }] },
      }),
    );
    await until(() => events.received.error, 'the error');
    expect(events.received.error.code).toBe('NOT_FOUND');
    expect(http.requests).toHaveLength(1);
  });

  test('ending a subscription stops its HTTP stream', async () => {
    FakeWebSocket.behaviour = 'refuse';
    const { client, http } = setUp();
    const events = sink();
    const stop = client.subscribe(PAYLOAD, events);
    await until(() => http.requests.length === 1, 'the HTTP stream');
    stop();
    expect(http.requests[0].aborted).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([events.received.error, events.received.completed, http.requests.length]).toEqual([
      null,
      false,
      1,
    ]);
  });

  test('reset drops every subscription and closes the socket', async () => {
    const { client, statuses } = setUp();
    const events = sink();
    client.subscribe(PAYLOAD, events);
    await until(subscribed, 'the subscribe message');
    client.reset();
    await until(() => FakeWebSocket.instances[0].readyState === FakeWebSocket.CLOSED, 'closed');
    expect(statuses.at(-1)).toBe('idle');
    expect(events.received.error).toBeNull();
  });
});
