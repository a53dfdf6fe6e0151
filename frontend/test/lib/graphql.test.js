// @vitest-environment node
import { describe, expect, test, vi } from 'vitest';
import { GraphQLClient } from '../../src/lib/graphql.js';
import { MULTIPART_CLOSE, MULTIPART_OPEN, MULTIPART_TYPE, multipartPart } from '../fakes.js';

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

describe('GraphQLClient.stream (subscriptions over HTTP)', () => {
  const streamOf =
    (chunks, contentType = MULTIPART_TYPE, status = 200) =>
    async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
            controller.close();
          },
        }),
        { status, headers: { 'content-type': contentType } },
      );
  const collect = async (client) => {
    const events = [];
    for await (const data of client.stream('subscription { s }')) events.push(data);
    return events;
  };

  test("yields each event's data, heartbeats left out, however the bytes are split", async () => {
    const whole =
      MULTIPART_OPEN +
      multipartPart({}) +
      multipartPart({ payload: { data: { s: 'a\r\n--graphql b' } } }) +
      multipartPart({ payload: { data: { s: 'c' } } }) +
      MULTIPART_CLOSE;
    for (const size of [1, 3, 7, whole.length]) {
      const chunks = [];
      for (let at = 0; at < whole.length; at += size) chunks.push(whole.slice(at, at + size));
      const client = new GraphQLClient({ token: () => 't', fetch: streamOf(chunks) });
      expect(await collect(client)).toEqual([{ s: 'a\r\n--graphql b' }, { s: 'c' }]);
    }
  });

  test('a stream cut before its closing delimiter is a NETWORK error', async () => {
    const fetch = streamOf([MULTIPART_OPEN, multipartPart({ payload: { data: { s: 'a' } } })]);
    const client = new GraphQLClient({ token: () => 't', fetch });
    await expect(collect(client)).rejects.toMatchObject({ code: 'NETWORK' });
  });

  test('a refused subscription throws the server code and tells the session', async () => {
    const onUnauthenticated = vi.fn();
    const body = JSON.stringify({
      errors: [{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }],
    });
    const fetch = streamOf([body], 'application/json');
    const client = new GraphQLClient({ token: () => 't', onUnauthenticated, fetch });
    await expect(collect(client)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(onUnauthenticated).toHaveBeenCalledOnce();
  });

  test("a proxy's error page is a NETWORK error, to be tried again", async () => {
    const fetch = streamOf(['<html>Bad Gateway</html>'], 'text/html', 502);
    const client = new GraphQLClient({ token: () => 't', fetch });
    await expect(collect(client)).rejects.toMatchObject({ code: 'NETWORK' });
  });

  test('asks for the multipart protocol with the bearer token', async () => {
    const fetch = vi.fn(streamOf([MULTIPART_OPEN, MULTIPART_CLOSE]));
    await collect(new GraphQLClient({ token: () => 'tok', fetch }));
    const { headers } = fetch.mock.calls[0][1];
    expect(headers.accept).toBe('multipart/mixed;subscriptionSpec="1.0",application/json');
    expect(headers.authorization).toBe('Bearer tok');
  });
});
