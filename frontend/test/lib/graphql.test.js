// @vitest-environment node
import { describe, expect, test, vi } from 'vitest';
import { GraphQLClient } from '../../src/lib/graphql.js';

function jsonResponse(body, status = 200) {
  return { status, json: async () => body };
}

describe('GraphQLClient', () => {
  test('posts the query with the bearer token and returns data', async () => {
    const fetch = vi.fn(async () => jsonResponse({ data: { me: { username: 'ana' } } }));
    const client = new GraphQLClient({ token: () => 'tok', fetch });
    expect(await client.request('query Me { me { username } }', { a: 1 })).toEqual({
      me: { username: 'ana' },
    });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/graphql');
    expect(init.method).toBe('POST');
    expect(init.headers.authorization).toBe('Bearer tok');
    expect(JSON.parse(init.body)).toEqual({
      query: 'query Me { me { username } }',
      variables: { a: 1 },
    });
  });

  test('sends no authorization without a token', async () => {
    const fetch = vi.fn(async () => jsonResponse({ data: {} }));
    await new GraphQLClient({ token: () => null, fetch }).request('query { a }');
    expect(fetch.mock.calls[0][1].headers).not.toHaveProperty('authorization');
  });

  test('an UNAUTHENTICATED answer tells the session, then throws', async () => {
    const onUnauthenticated = vi.fn();
    const fetch = async () =>
      jsonResponse({ errors: [{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }] });
    const client = new GraphQLClient({ token: () => 'old', onUnauthenticated, fetch });
    await expect(client.request('query { me { id } }')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    expect(onUnauthenticated).toHaveBeenCalledOnce();
  });

  test('other errors are thrown with their code, without ending the session', async () => {
    const onUnauthenticated = vi.fn();
    const fetch = async () =>
      jsonResponse({ errors: [{ message: 'slow down', extensions: { code: 'RATE_LIMITED' } }] });
    const client = new GraphQLClient({ token: () => 't', onUnauthenticated, fetch });
    await expect(client.request('mutation { x }')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(onUnauthenticated).not.toHaveBeenCalled();
  });

  test('no answer, or a gateway error page, is a network error; another page is internal', async () => {
    const refused = new GraphQLClient({
      token: () => null,
      fetch: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    await expect(refused.request('query { a }')).rejects.toMatchObject({ code: 'NETWORK' });
    const notJson = (status) => ({ status, json: async () => JSON.parse('<html>') });
    const gateway = new GraphQLClient({ token: () => null, fetch: async () => notJson(502) });
    await expect(gateway.request('query { a }')).rejects.toMatchObject({ code: 'NETWORK' });
    const broken = new GraphQLClient({ token: () => null, fetch: async () => notJson(500) });
    await expect(broken.request('query { a }')).rejects.toMatchObject({
      code: 'INTERNAL_SERVER_ERROR',
    });
  });

  test('an aborted request stays an AbortError', async () => {
    const fetch = async () => {
      throw new DOMException('aborted', 'AbortError');
    };
    const client = new GraphQLClient({ token: () => null, fetch });
    await expect(client.request('query { a }')).rejects.toMatchObject({ name: 'AbortError' });
  });
});
