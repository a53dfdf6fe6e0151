// Subscriptions over WebSocket (the graphql-ws library), falling back by themselves to plain
// HTTP (multipart responses) where a proxy refuses or cuts the socket.
//
// Only idempotent subscriptions go through here (`postStream`: the text so far, then live
// deltas), so a subscription cut short is simply made again, over whichever transport works.
import { createClient } from 'graphql-ws';
import { ApiError, errorFromGraphQL } from './errors.js';

const CLOSE_FORBIDDEN = 4403; // the server refused the token
const IDLE_CLOSE_MS = 15_000;
const ACK_TIMEOUT_MS = 10_000;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;
export const FIRST_WEBSOCKET_RETRY_MS = 30_000;
const MAX_WEBSOCKET_RETRY_MS = 5 * 60_000;

/**
 * Subscriptions that keep streaming whatever the network between here and the API allows.
 *
 *   const client = new SubscriptionClient({ url: 'wss://host/graphql', graphql, connectionParams });
 *   const stop = client.subscribe({ query, variables }, { next, error, complete, restart });
 *
 * Each subscription goes over WebSocket unless WebSocket failed recently. When the socket
 * cannot open or is cut, the subscription is made again at once over HTTP (`graphql.stream`)
 * and WebSocket is tried again for later subscriptions after a while (30 s, doubling up to
 * 5 min while it keeps failing). When HTTP fails too, the server or the network is down:
 * both are tried again with a growing delay. `sink.restart()` is called before a subscription
 * is made again, so the sink can expect the server to send the text so far again.
 *
 * Events: `status` (detail: 'idle' | 'connecting' | 'connected' | 'fallback' (streaming over
 * HTTP) | 'reconnecting') and `unauthenticated` (the server refused the token on the socket).
 */
export class SubscriptionClient extends EventTarget {
  status = 'idle';
  #url;
  #graphql;
  #connectionParams;
  #webSocketImpl;
  #socketClient = null;
  #subscriptions = new Set();
  #webSocketBlockedUntil = 0;
  #webSocketRetryMs = FIRST_WEBSOCKET_RETRY_MS;
  #failures = 0;

  constructor({ url, graphql, connectionParams, webSocketImpl = undefined }) {
    super();
    this.#url = url;
    this.#graphql = graphql;
    this.#connectionParams = connectionParams;
    this.#webSocketImpl = webSocketImpl;
  }

  /** 'websocket' or 'http': how the next subscription will go. */
  get transport() {
    return Date.now() < this.#webSocketBlockedUntil ? 'http' : 'websocket';
  }

  /** Start a subscription; returns a function that ends it. */
  subscribe(payload, sink) {
    const subscription = { payload, sink, started: false, stop: null, timer: null };
    this.#subscriptions.add(subscription);
    if (this.status === 'idle') this.#setStatus('connecting');
    this.#start(subscription);
    return () => this.#end(subscription);
  }

  /** Close the socket and drop every subscription (logout, or a new token). */
  reset() {
    for (const subscription of [...this.#subscriptions]) this.#end(subscription);
    this.#socketClient?.dispose();
    this.#socketClient = null;
    this.#failures = 0;
    this.#setStatus('idle');
  }

  #start(subscription) {
    if (subscription.started) subscription.sink.restart?.();
    subscription.started = true;
    const overWebSocket = this.transport === 'websocket';
    const handlers = {
      next: (data) => subscription.sink.next(data),
      error: (error) => {
        this.#end(subscription);
        subscription.sink.error(error);
      },
      complete: () => {
        this.#end(subscription);
        subscription.sink.complete?.();
      },
      lost: () => this.#lost(subscription, overWebSocket),
    };
    subscription.stop = overWebSocket
      ? this.#overWebSocket(subscription.payload, handlers)
      : this.#overHttp(subscription.payload, handlers);
  }

  #lost(subscription, overWebSocket) {
    if (!this.#subscriptions.has(subscription)) return;
    subscription.stop = null;
    if (overWebSocket) {
      // Most likely a proxy that refuses or cuts sockets: carry on over HTTP at once. One
      // cut socket loses all its subscriptions together: that counts as one failure.
      if (this.transport === 'websocket') {
        this.#webSocketBlockedUntil = Date.now() + this.#webSocketRetryMs;
        this.#webSocketRetryMs = Math.min(MAX_WEBSOCKET_RETRY_MS, this.#webSocketRetryMs * 2);
      }
      this.#start(subscription);
      return;
    }
    // HTTP failed too: the network or the server, not WebSocket. Try both again, later.
    this.#webSocketBlockedUntil = 0;
    this.#setStatus('reconnecting');
    // Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
    const delay =
      Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.#failures) * (0.5 + Math.random() / 2);
    this.#failures += 1;
    subscription.timer = setTimeout(() => {
      subscription.timer = null;
      this.#start(subscription);
    }, delay);
  }

  #opened(overWebSocket) {
    this.#failures = 0;
    if (overWebSocket) {
      this.#webSocketRetryMs = FIRST_WEBSOCKET_RETRY_MS;
      this.#setStatus('connected');
    } else {
      this.#setStatus('fallback');
    }
  }

  #end(subscription) {
    if (!this.#subscriptions.delete(subscription)) return;
    clearTimeout(subscription.timer);
    subscription.stop?.();
    subscription.stop = null;
    if (this.#subscriptions.size === 0 && this.status === 'reconnecting') this.#setStatus('idle');
  }

  #overWebSocket(payload, handlers) {
    return this.#socket().subscribe(payload, {
      next: ({ data, errors }) => {
        if (errors?.length && !data) handlers.error(errorFromGraphQL(errors));
        else handlers.next(data);
      },
      error: (error) => {
        if (Array.isArray(error)) {
          handlers.error(errorFromGraphQL(error));
        } else if (error?.code === CLOSE_FORBIDDEN) {
          handlers.error(new ApiError('UNAUTHENTICATED', error.reason));
          this.dispatchEvent(new CustomEvent('unauthenticated'));
        } else {
          handlers.lost();
        }
      },
      complete: handlers.complete,
    });
  }

  #overHttp(payload, handlers) {
    const controller = new AbortController();
    const run = async () => {
      const events = this.#graphql.stream(payload.query, payload.variables, {
        signal: controller.signal,
        onOpen: () => this.#opened(false),
      });
      for await (const data of events) handlers.next(data);
    };
    run().then(
      () => {
        if (!controller.signal.aborted) handlers.complete();
      },
      (error) => {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.code !== 'NETWORK') handlers.error(error);
        else handlers.lost();
      },
    );
    return () => controller.abort();
  }

  #socket() {
    this.#socketClient ??= createClient({
      url: this.#url,
      lazy: true,
      lazyCloseTimeout: IDLE_CLOSE_MS,
      connectionAckWaitTimeout: ACK_TIMEOUT_MS,
      // This class decides what to do when the socket goes: over HTTP at once, not again here.
      retryAttempts: 0,
      connectionParams: this.#connectionParams,
      webSocketImpl: this.#webSocketImpl,
      on: {
        connected: () => this.#opened(true),
        closed: () => {
          if (this.status === 'connected' && this.#subscriptions.size === 0) {
            this.#setStatus('idle');
          }
        },
      },
    });
    return this.#socketClient;
  }

  #setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: status }));
  }
}
