// Stand-ins for what controllers and helpers talk to, for tests without a page.

/** A host for a reactive controller: counts the updates it is asked for. */
export function fakeHost() {
  return {
    controllers: [],
    updates: 0,
    addController(controller) {
      this.controllers.push(controller);
    },
    requestUpdate() {
      this.updates += 1;
    },
  };
}

/** A GraphQLClient whose answers are given per operation name: `{ PostsBefore: (variables) => data }`. */
export function fakeGraphQL(answers) {
  const calls = [];
  return {
    calls,
    async request(query, variables = {}) {
      const name = /(?:query|mutation) (\w+)/.exec(query)[1];
      calls.push({ name, variables });
      if (!answers[name]) throw new Error(`no answer for ${name}`);
      return answers[name](variables);
    },
  };
}

/** A SubscriptionClient whose subscriptions the test drives by hand. */
export function fakeSubscriptions() {
  const subscriptions = [];
  return {
    subscriptions,
    subscribe(payload, sink) {
      const subscription = { payload, sink, ended: false };
      subscriptions.push(subscription);
      return () => (subscription.ended = true);
    },
  };
}

/** A post as the API sends it. */
export function post(id, changes = {}) {
  return {
    id,
    conversationId: 'c1',
    prompt: `prompt ${id}`,
    body: `answer ${id}`,
    status: 'COMPLETE',
    createdAt: '2024-01-01T00:00:00Z',
    ...changes,
  };
}

/** A page of posts as `conversation.posts` holds it. */
export function connection(ids, pageInfo = {}) {
  return {
    edges: ids.map((id) => ({ cursor: `cursor-${id}`, node: post(id) })),
    pageInfo: {
      hasPreviousPage: false,
      hasNextPage: false,
      startCursor: ids.length ? `cursor-${ids[0]}` : null,
      endCursor: ids.length ? `cursor-${ids.at(-1)}` : null,
      ...pageInfo,
    },
  };
}

/** The bytes of a multipart subscription response as the API writes them (Strawberry). */
export function multipartPart(body) {
  const json = JSON.stringify(body);
  return `\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${json.length}\r\n\r\n${json}\r\n--graphql`;
}
export const MULTIPART_OPEN = '--graphql';
export const MULTIPART_CLOSE = '\r\n--graphql--\r\n';
export const MULTIPART_TYPE =
  'multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json';

/**
 * A `fetch` whose multipart responses the test writes as it goes:
 *
 *   const http = fakeStreamingFetch();
 *   const response = http.requests[0];   // { init, write(text), end(), cut() }
 *
 * `http.refuse = true` makes the next requests fail as an unreachable server does.
 */
export function fakeStreamingFetch() {
  const requests = [];
  const http = {
    requests,
    refuse: false,
    fetch: async (url, init) => {
      if (http.refuse) throw new TypeError('Failed to fetch');
      let controller;
      const body = new ReadableStream({ start: (c) => (controller = c) });
      const encoder = new TextEncoder();
      const request = {
        url,
        init,
        aborted: false,
        write: (text) => controller.enqueue(encoder.encode(text)),
        end: () => controller.close(),
        cut: () => controller.error(new TypeError('network error')),
      };
      init.signal?.addEventListener('abort', () => {
        request.aborted = true;
        controller.error(new DOMException('aborted', 'AbortError'));
      });
      requests.push(request);
      request.write(MULTIPART_OPEN);
      return new Response(body, { status: 200, headers: { 'content-type': MULTIPART_TYPE } });
    },
  };
  return http;
}

/**
 * A browser WebSocket for the graphql-ws library, with the server's side driven by the test:
 * `FakeWebSocket.behaviour` decides what a new socket does ('accept' speaks
 * graphql-transport-ws and acknowledges; 'refuse' fails as a proxy refusing the upgrade).
 * `socket.subscriptions` holds the subscribe messages; `socket.next(id, data)`,
 * `socket.complete(id)`, `socket.drop()` act as the server or a proxy would.
 */
export class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static instances = [];
  static behaviour = 'accept';

  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.readyState = FakeWebSocket.CONNECTING;
    this.subscriptions = [];
    this.behaviour = FakeWebSocket.behaviour;
    FakeWebSocket.instances.push(this);
    setTimeout(() => {
      if (this.behaviour === 'refuse') {
        this.readyState = FakeWebSocket.CLOSED;
        this.onerror?.(new Event('error'));
        this.onclose?.({ code: 1006, reason: '', wasClean: false });
        return;
      }
      this.readyState = FakeWebSocket.OPEN;
      this.onopen?.();
    }, 0);
  }

  send(text) {
    const message = JSON.parse(text);
    if (message.type === 'connection_init') {
      this.connectionParams = message.payload;
      if (this.behaviour === 'forbid') this.close(4403, 'Forbidden');
      else this.#receive({ type: 'connection_ack' });
    } else if (message.type === 'subscribe') {
      this.subscriptions.push(message);
    }
  }

  close(code = 1000, reason = '') {
    if (this.readyState >= FakeWebSocket.CLOSING) return;
    this.readyState = FakeWebSocket.CLOSED;
    setTimeout(() => this.onclose?.({ code, reason, wasClean: true }), 0);
  }

  next(id, data) {
    this.#receive({ id, type: 'next', payload: { data } });
  }

  error(id, errors) {
    this.#receive({ id, type: 'error', payload: errors });
  }

  complete(id) {
    this.#receive({ id, type: 'complete' });
  }

  /** Cut as a proxy does: no closing handshake. */
  drop() {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code: 1006, reason: '', wasClean: false });
  }

  #receive(message) {
    setTimeout(() => this.onmessage?.({ data: JSON.stringify(message) }), 0);
  }
}
