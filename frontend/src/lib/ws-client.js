// A small graphql-transport-ws client that reconnects by itself.
//
// Why not the graphql-ws package: on reconnect it re-sends the same subscription, which for
// `promptStream` would send the prompt twice. Here each subscription supplies its payload
// afresh on every (re)connect, so an answer that was started becomes `postStream(postId)`.
import { ApiError, errorFromGraphQL } from './errors.js';

const PROTOCOL = 'graphql-transport-ws';
const CLOSE_FORBIDDEN = 4403; // the server refused the token
const IDLE_CLOSE_MS = 15_000;
const MAX_BACKOFF_MS = 15_000;

/**
 * Subscriptions over one WebSocket.
 *
 *   const client = new SubscriptionClient({ url, connectionParams: () => ({ authorization }) });
 *   const stop = client.subscribe(() => ({ query, variables }), { next, error, complete, restart });
 *
 * Events: `status` (detail: 'idle' | 'connecting' | 'connected' | 'reconnecting') and
 * `unauthenticated` (the server closed the socket with 4403).
 */
export class SubscriptionClient extends EventTarget {
  constructor({ url, connectionParams }) {
    super();
    this.url = url;
    this.connectionParams = connectionParams;
    this.socket = null;
    this.acknowledged = false;
    this.subscriptions = new Map(); // local key -> {payloadFor, sink, wireId}
    this.nextKey = 1;
    this.attempt = 0;
    this.retryTimer = null;
    this.idleTimer = null;
    this.status = 'idle';
  }

  /**
   * Start a subscription. `payloadFor(isRetry)` returns `{query, variables}` for each
   * (re)subscribe, or null to give up after a reconnect (the sink then gets an error).
   * `sink.restart()` is called before a re-subscribe, so the sink can expect the server to
   * send the text so far again. Returns a function that ends the subscription.
   */
  subscribe(payloadFor, sink) {
    const key = String(this.nextKey++);
    const subscription = { payloadFor, sink, wireId: null, started: false };
    this.subscriptions.set(key, subscription);
    clearTimeout(this.idleTimer);
    if (this.acknowledged) this.#send(key, subscription);
    else this.#connect();
    return () => this.#unsubscribe(key);
  }

  /** Close the socket and drop every subscription (logout, or a new token). */
  reset() {
    this.subscriptions.clear();
    clearTimeout(this.retryTimer);
    clearTimeout(this.idleTimer);
    this.attempt = 0;
    this.#closeSocket(1000, 'reset');
    this.#setStatus('idle');
  }

  #setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: status }));
  }

  #connect() {
    if (this.socket || this.retryTimer) return;
    this.#setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(this.url, PROTOCOL);
    this.socket = socket;
    this.acknowledged = false;
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: this.connectionParams() }));
    });
    socket.addEventListener('message', (event) => this.#onMessage(socket, event));
    socket.addEventListener('close', (event) => this.#onClose(socket, event));
  }

  #onMessage(socket, event) {
    if (socket !== this.socket) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      socket.close(4400, 'Invalid message');
      return;
    }
    if (message.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
      return;
    }
    if (message.type === 'connection_ack') {
      this.acknowledged = true;
      this.attempt = 0;
      this.#setStatus('connected');
      for (const [key, subscription] of this.subscriptions) this.#send(key, subscription);
      return;
    }
    const found = this.#byWireId(message.id);
    if (!found) return;
    const [key, { sink }] = found;
    if (message.type === 'next') {
      const { data, errors } = message.payload ?? {};
      if (errors?.length && !data) {
        this.#finish(key, errorFromGraphQL(errors));
        return;
      }
      sink.next(data);
    } else if (message.type === 'error') {
      this.#finish(key, errorFromGraphQL(message.payload));
    } else if (message.type === 'complete') {
      this.subscriptions.delete(key);
      sink.complete?.();
      this.#closeWhenIdle();
    }
  }

  #onClose(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.acknowledged = false;
    for (const subscription of this.subscriptions.values()) subscription.wireId = null;
    if (event.code === CLOSE_FORBIDDEN) {
      const error = new ApiError('UNAUTHENTICATED', event.reason);
      for (const key of [...this.subscriptions.keys()]) this.#finish(key, error);
      this.#setStatus('idle');
      this.dispatchEvent(new CustomEvent('unauthenticated'));
      return;
    }
    if (this.subscriptions.size === 0) {
      this.#setStatus('idle');
      return;
    }
    // Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.#setStatus('reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.#connect();
    }, delay);
  }

  #send(key, subscription) {
    const payload = subscription.payloadFor(subscription.started);
    if (!payload) {
      this.#finish(key, new ApiError('NETWORK', 'The connection was lost.'));
      return;
    }
    if (subscription.started) subscription.sink.restart?.();
    subscription.started = true;
    subscription.wireId = `${key}.${this.nextKey++}`;
    this.socket.send(JSON.stringify({ id: subscription.wireId, type: 'subscribe', payload }));
  }

  #finish(key, error) {
    const subscription = this.subscriptions.get(key);
    if (!subscription) return;
    this.subscriptions.delete(key);
    subscription.sink.error(error);
    this.#closeWhenIdle();
  }

  #unsubscribe(key) {
    const subscription = this.subscriptions.get(key);
    if (!subscription) return;
    this.subscriptions.delete(key);
    if (subscription.wireId && this.acknowledged) {
      this.socket.send(JSON.stringify({ id: subscription.wireId, type: 'complete' }));
    }
    this.#closeWhenIdle();
  }

  #byWireId(wireId) {
    for (const entry of this.subscriptions) if (entry[1].wireId === wireId) return entry;
    return null;
  }

  #closeWhenIdle() {
    if (this.subscriptions.size > 0) return;
    clearTimeout(this.idleTimer);
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.attempt = 0;
      this.#setStatus('idle');
    }
    this.idleTimer = setTimeout(() => {
      this.#closeSocket(1000, 'idle');
      this.#setStatus('idle');
    }, IDLE_CLOSE_MS);
  }

  #closeSocket(code, reason) {
    const socket = this.socket;
    this.socket = null;
    this.acknowledged = false;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(code, reason);
  }
}
