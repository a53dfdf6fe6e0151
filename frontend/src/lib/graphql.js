// GraphQL over HTTP: POST /graphql with the session's bearer token. Throws ApiError.
import { ApiError, errorFromGraphQL } from './errors.js';

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
}
