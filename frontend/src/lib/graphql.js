// GraphQL over HTTP: POST /graphql with the session's bearer token. Throws ApiError; an
// UNAUTHENTICATED answer also tells `onUnauthenticated` listeners (the app goes back to login).
import { ApiError, errorFromGraphQL } from './errors.js';
import { loadSession } from './session.js';

const unauthenticatedListeners = new Set();

/** Call `listener()` whenever the API refuses the token. Returns the unsubscribe function. */
export function onUnauthenticated(listener) {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export function reportUnauthenticated() {
  for (const listener of unauthenticatedListeners) listener();
}

/**
 * Run one query or mutation and return its `data`.
 *
 *   const { me } = await request('query { me { username } }');
 */
export async function request(query, variables = {}, { signal } = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  const session = loadSession();
  if (session) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch('/graphql', {
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
    const code =
      response.status >= 502 && response.status <= 504 ? 'NETWORK' : 'INTERNAL_SERVER_ERROR';
    throw new ApiError(code, `HTTP ${response.status}`);
  }
  if (body.errors?.length) {
    const error = errorFromGraphQL(body.errors);
    if (error.code === 'UNAUTHENTICATED') reportUnauthenticated();
    throw error;
  }
  return body.data;
}
