// The GraphiQL fetcher: queries and mutations over HTTP with the headers from GraphiQL's
// headers editor; subscriptions over graphql-transport-ws, authenticated with the same
// Authorization header passed as connectionParams (the API reads it there, not from headers).
import { getOperationAST, parse } from 'graphql';
import { createClient } from 'graphql-ws';

function isSubscription({ query, operationName }) {
  try {
    return getOperationAST(parse(query), operationName)?.operation === 'subscription';
  } catch {
    return false; // let the server report the syntax error
  }
}

function authorizationOf(headers) {
  const name = Object.keys(headers).find((key) => key.toLowerCase() === 'authorization');
  return name ? String(headers[name]) : undefined;
}

/**
 * Build a GraphiQL fetcher for one endpoint.
 *
 *   const fetcher = createFetcher({ httpUrl: '/graphql', wsUrl: 'ws://host/graphql' });
 */
export function createFetcher({ httpUrl, wsUrl }) {
  const wsClients = new Map(); // one client per Authorization value: a new token, a new socket

  function wsClientFor(authorization) {
    const key = authorization ?? '';
    if (!wsClients.has(key)) {
      wsClients.set(
        key,
        createClient({
          url: wsUrl,
          lazy: true,
          retryAttempts: 3,
          connectionParams: authorization ? { authorization } : {},
        }),
      );
    }
    return wsClients.get(key);
  }

  return async function fetcher(params, options = {}) {
    const headers = { ...(options.headers ?? {}) };
    if (isSubscription(params)) {
      return wsClientFor(authorizationOf(headers)).iterate(params);
    }
    const response = await fetch(httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(params),
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return { errors: [{ message: `HTTP ${response.status}: ${text || response.statusText}` }] };
    }
  };
}
