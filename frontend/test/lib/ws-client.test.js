import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { SubscriptionClient } from '../../src/lib/ws-client.js';

class FakeSocket extends EventTarget {
  static OPEN = 1;
  static opened = [];

  constructor(url, protocol) {
    super();
    this.url = url;
    this.protocol = protocol;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.opened.push(this);
  }

  send(data) {
    this.sent.push(JSON.parse(data));
  }

  close(code, reason) {
    this.readyState = 3;
    this.closedWith = { code, reason };
  }

  // What the server does:
  open() {
    this.readyState = FakeSocket.OPEN;
    this.dispatchEvent(new Event('open'));
  }

  receive(message) {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) }));
  }

  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason }));
  }
}

function sink() {
  return { next: vi.fn(), error: vi.fn(), complete: vi.fn(), restart: vi.fn() };
}

function connectedClient() {
  const client = new SubscriptionClient({
    url: 'ws://test/graphql',
    connectionParams: () => ({ authorization: 'Bearer t' }),
  });
  return client;
}

beforeEach(() => {
  FakeSocket.opened = [];
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('SubscriptionClient', () => {
  test('authenticates, then subscribes and relays what the server sends', () => {
    const client = connectedClient();
    const events = sink();
    client.subscribe(() => ({ query: 'subscription S { s }', variables: { a: 1 } }), events);
    const [socket] = FakeSocket.opened;
    expect(socket.protocol).toBe('graphql-transport-ws');
    socket.open();
    expect(socket.sent).toEqual([
      { type: 'connection_init', payload: { authorization: 'Bearer t' } },
    ]);
    socket.receive({ type: 'connection_ack' });
    const subscribe = socket.sent[1];
    expect(subscribe).toMatchObject({
      type: 'subscribe',
      payload: { query: 'subscription S { s }', variables: { a: 1 } },
    });
    socket.receive({ id: subscribe.id, type: 'next', payload: { data: { s: 1 } } });
    socket.receive({ id: subscribe.id, type: 'complete' });
    expect(events.next).toHaveBeenCalledWith({ s: 1 });
    expect(events.complete).toHaveBeenCalledOnce();
    expect(client.status).toBe('connected');
  });

  test('answers pings', () => {
    connectedClient().subscribe(() => ({ query: 'subscription { s }' }), sink());
    const [socket] = FakeSocket.opened;
    socket.open();
    socket.receive({ type: 'ping' });
    expect(socket.sent.at(-1)).toEqual({ type: 'pong' });
  });

  test('after a dropped socket it reconnects and asks each subscription for its payload again', () => {
    const client = connectedClient();
    const events = sink();
    const payloadFor = vi.fn((isRetry) => ({ query: isRetry ? 'retry' : 'first' }));
    client.subscribe(payloadFor, events);
    const [first] = FakeSocket.opened;
    first.open();
    first.receive({ type: 'connection_ack' });
    first.drop();
    expect(client.status).toBe('reconnecting');
    vi.advanceTimersByTime(1000);
    const second = FakeSocket.opened[1];
    second.open();
    second.receive({ type: 'connection_ack' });
    expect(second.sent.at(-1).payload).toEqual({ query: 'retry' });
    expect(events.restart).toHaveBeenCalledOnce();
  });

  test('a subscription that cannot be sent again fails instead of repeating itself', () => {
    const client = connectedClient();
    const events = sink();
    client.subscribe((isRetry) => (isRetry ? null : { query: 'once' }), events);
    const [first] = FakeSocket.opened;
    first.open();
    first.receive({ type: 'connection_ack' });
    first.drop();
    vi.advanceTimersByTime(1000);
    FakeSocket.opened[1].open();
    FakeSocket.opened[1].receive({ type: 'connection_ack' });
    expect(events.error.mock.calls[0][0].code).toBe('NETWORK');
  });

  test('a refused token ends every subscription and says so', () => {
    const client = connectedClient();
    const events = sink();
    const unauthenticated = vi.fn();
    client.addEventListener('unauthenticated', unauthenticated);
    client.subscribe(() => ({ query: 'subscription { s }' }), events);
    FakeSocket.opened[0].open();
    FakeSocket.opened[0].drop(4403, 'Forbidden');
    expect(events.error.mock.calls[0][0].code).toBe('UNAUTHENTICATED');
    expect(unauthenticated).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.opened).toHaveLength(1);
  });

  test('ending a subscription tells the server, and an idle socket closes', () => {
    const client = connectedClient();
    const stop = client.subscribe(() => ({ query: 'subscription { s }' }), sink());
    const [socket] = FakeSocket.opened;
    socket.open();
    socket.receive({ type: 'connection_ack' });
    stop();
    expect(socket.sent.at(-1)).toEqual({ id: socket.sent[1].id, type: 'complete' });
    vi.advanceTimersByTime(15_000);
    expect(socket.closedWith).toEqual({ code: 1000, reason: 'idle' });
  });
});
