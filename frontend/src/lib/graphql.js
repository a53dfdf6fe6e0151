// GraphQL over HTTP: POST /graphql with the session's bearer token. Throws ApiError.
import { ApiError, errorFromGraphQL } from './errors.js';

const MULTIPART_ACCEPT = 'multipart/mixed;subscriptionSpec="1.0",application/json';

/**
 * Queries and mutations for one session; the app provides one to every component
 * (`graphqlContext`).
 *
 *   const client = new GraphQLClient({ token: () => session.token, onUnauthenticated: logOut });
 *   const { me } = await client.request('query { me { username } }');
 *
 * `token()` is read on every request; `onUnauthenticated()` is called whenever the API
 * refuses it, before the error is thrown.
 */
export class GraphQLClient {
  #url;
  #token;
  #onUnauthenticated;
  #fetch;

  constructor({ token, onUnauthenticated = () => {}, url = '/graphql', fetch = globalThis.fetch }) {
    this.#url = url;
    this.#token = token;
    this.#onUnauthenticated = onUnauthenticated;
    this.#fetch = fetch;
  }

  /** Run one query or mutation and return its `data`. */
  async request(query, variables = {}, { signal } = {}) {
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    const token = this.#token();
    if (token) headers.authorization = `Bearer ${token}`;
    let response;
    try {
      response = await this.#fetch.call(globalThis, this.#url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
        signal,
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError('NETWORK', error.message);
    }
    let body;
    try {
      body = await response.json();
    } catch {
      const unreachable = response.status >= 502 && response.status <= 504;
      throw new ApiError(
        unreachable ? 'NETWORK' : 'INTERNAL_SERVER_ERROR',
        `HTTP ${response.status}`,
      );
    }
    if (body.errors?.length) {
      const error = errorFromGraphQL(body.errors);
      if (error.code === 'UNAUTHENTICATED') this.#onUnauthenticated();
      throw error;
    }
    return body.data;
  }

  /**
   * A subscription over plain HTTP (a multipart response, as Apollo Client and urql speak
   * it), for where WebSockets are blocked: yields each event's `data`.
   *
   *   for await (const data of client.stream(POST_STREAM, { postId }, { signal, onOpen })) ...
   *
   * `onOpen()` runs once the server has accepted the subscription. Throws ApiError: the
   * server's own code for a refused subscription, NETWORK for a stream that could not start
   * or was cut before its end.
   */
  async *stream(query, variables = {}, { signal, onOpen = () => {} } = {}) {
    const headers = { 'content-type': 'application/json', accept: MULTIPART_ACCEPT };
    const token = this.#token();
    if (token) headers.authorization = `Bearer ${token}`;
    let response;
    try {
      response = await this.#fetch.call(globalThis, this.#url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
        signal,
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError('NETWORK', error.message);
    }
    const boundary = multipartBoundary(response.headers.get('content-type'));
    if (boundary === null || !response.ok || !response.body) {
      throw this.#refusal(await response.text().catch(() => ''), response.status);
    }
    onOpen();
    const parts = new MultipartParts(boundary);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (error.name === 'AbortError') throw error;
          throw new ApiError('NETWORK', error.message);
        }
        if (chunk.done) break;
        for (const part of parts.push(chunk.value)) {
          const data = this.#eventData(part);
          if (data !== undefined) yield data;
        }
        if (parts.ended) return;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    throw new ApiError('NETWORK', 'The stream was cut before its end.');
  }

  #refusal(text, status) {
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      // Not the API's JSON: a proxy's error page, or nothing.
    }
    if (!body?.errors?.length) {
      const unreachable = status >= 500 || status === 0;
      return new ApiError(unreachable ? 'NETWORK' : 'INTERNAL_SERVER_ERROR', `HTTP ${status}`);
    }
    const error = errorFromGraphQL(body.errors);
    if (error.code === 'UNAUTHENTICATED') this.#onUnauthenticated();
    return error;
  }

  // A part's `data`, undefined for a heartbeat; throws the part's errors.
  #eventData(part) {
    const errors = part.payload?.errors ?? part.errors;
    if (errors?.length && !part.payload?.data) {
      const error = errorFromGraphQL(errors);
      if (error.code === 'UNAUTHENTICATED') this.#onUnauthenticated();
      throw error;
    }
    return part.payload ? part.payload.data : undefined;
  }
}

/** The boundary of a `multipart/mixed` content type, or null for any other type. */
export function multipartBoundary(contentType) {
  if (!contentType || !/^\s*multipart\/mixed\b/i.test(contentType)) return null;
  const match = /boundary="?([^";,]+)"?/i.exec(contentType);
  return match ? match[1] : '-';
}

/**
 * The JSON parts of a multipart body, fed as it arrives:
 *
 *   const parts = new MultipartParts('graphql');
 *   for (const part of parts.push(text)) ...   // each whole part, parsed; then `parts.ended`
 */
export class MultipartParts {
  #delimiter;
  // The body's first delimiter has no line break before it; every later one has.
  #buffer = '\r\n';
  #opened = false;
  ended = false;

  constructor(boundary) {
    this.#delimiter = `\r\n--${boundary}`;
  }

  push(text) {
    const parts = [];
    this.#buffer += text;
    for (;;) {
      if (this.#opened && this.#buffer.startsWith('--')) {
        this.ended = true;
        break;
      }
      const at = this.#buffer.indexOf(this.#delimiter);
      if (at < 0) break;
      const part = this.#buffer.slice(0, at);
      this.#buffer = this.#buffer.slice(at + this.#delimiter.length);
      if (this.#opened) {
        const body = part.slice(part.indexOf('\r\n\r\n') + 4);
        if (body.trim()) parts.push(JSON.parse(body));
      }
      this.#opened = true;
    }
    return parts;
  }
}
