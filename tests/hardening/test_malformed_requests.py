"""Requests that are not well-formed GraphQL at all: broken, deeply nested or mistyped JSON
bodies, strange content types, mangled query text, forged tokens, and WebSocket messages that
break the protocol. A client error at worst, and the socket closed cleanly."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any

import jwt
import pytest
import websockets
from hypothesis import given
from hypothesis import strategies as st

from tests.hardening import hostile
from tests.hardening.conftest import Arena

pytestmark = pytest.mark.slow

VALID_QUERY = (
    "query($f: Int) { me { id } conversations(first: $f) { edges { cursor node { id title "
    "posts(last: 2) { edges { node { id body status } } } } } } }"
)
VALID_BODY = json.dumps({"query": VALID_QUERY, "variables": {"f": 5}}).encode()
DEPTHS = [1, 10, 100, 999, 1_000, 5_000, 100_000]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "application/json; charset=utf-16",
    "application/graphql",
    "application/graphql-response+json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "",
]


def nested(depth: int, closed: bool) -> bytes:
    opening, closing = (b'{"a":', b"}") if depth % 2 else (b"[", b"]")
    inner = b'"x"' if depth % 2 else b""
    return opening * depth + inner + (closing * depth if closed else b"")


def bodies() -> st.SearchStrategy[bytes]:
    """Raw request bodies: junk, truncated or padded JSON, nesting, and every JSON type."""
    fields = st.fixed_dictionaries(
        {},
        optional={
            "query": st.one_of(st.just(VALID_QUERY), hostile.any_value()),
            "variables": hostile.any_value(),
            "operationName": hostile.any_value(),
            "extensions": hostile.any_value(),
        },
    )
    return st.one_of(
        st.binary(max_size=200),
        st.integers(0, len(VALID_BODY) - 1).map(lambda end: VALID_BODY[:end]),
        st.builds(nested, st.sampled_from(DEPTHS), st.booleans()),
        st.builds(
            lambda depth, closed: (
                b'{"query": "{ me { id } }", "variables": {"v": ' + nested(depth, closed) + b"}}"
            ),
            st.sampled_from(DEPTHS),
            st.booleans(),
        ),
        st.sampled_from([4_301, 10_000]).map(
            lambda digits: b'{"query": "{ me { id } }", "variables": {"f": ' + b"9" * digits + b"}}"
        ),
        st.binary(min_size=1, max_size=20).map(
            lambda junk: b'{"query": "{ me { id } }", "variables": {"s": "' + junk + b'"}}'
        ),
        st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b" \n\t"]).map(lambda pad: pad + VALID_BODY),
        hostile.any_value().map(hostile.encode),
        fields.map(hostile.encode),
        st.just(VALID_BODY * 2),
        st.lists(fields, min_size=1, max_size=3).map(hostile.encode),
    )


def mangled_queries() -> st.SearchStrategy[str]:
    """The valid query with characters inserted, dropped or swapped: the parser's edge cases."""
    noise = st.text(
        st.one_of(st.sampled_from('{}()[]:$!@.,"\\#\n\t&|=...'), hostile.characters()),
        min_size=1,
        max_size=8,
    )

    def mangle(edits: list[tuple[int, int, str]]) -> str:
        query = VALID_QUERY
        for position, dropped, inserted in edits:
            at = position % (len(query) + 1)
            query = query[:at] + inserted + query[at + dropped :]
        return query

    return st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 3), noise), min_size=1, max_size=6
    ).map(mangle)


@given(body=bodies(), content_type=st.sampled_from(CONTENT_TYPES))
async def test_malformed_request_bodies_get_a_client_error(
    arena: Arena, body: bytes, content_type: str
) -> None:
    status, text = await arena.post(body, {"Content-Type": content_type})
    hostile.assert_client_error_at_worst(status, text)


@given(
    params=st.dictionaries(
        st.sampled_from(["query", "variables", "operationName", "extensions", "x"]),
        st.one_of(
            st.just(VALID_QUERY),
            st.text(hostile.characters(), max_size=60),
            hostile.any_value().map(hostile.encode).map(bytes.decode),
            st.builds(nested, st.sampled_from(DEPTHS[:5]), st.booleans()).map(bytes.decode),
        ),
    )
)
async def test_malformed_query_parameters_get_a_client_error(
    arena: Arena, params: dict[str, str]
) -> None:
    # Every byte percent-encoded, lone surrogates' too: what a hostile client can put in a URL
    # (of a length a client library still sends).
    encoded = "&".join(
        key
        + "="
        + "".join(f"%{byte:02X}" for byte in value[:4000].encode("utf-8", "surrogatepass"))
        for key, value in params.items()
    )
    response = await arena.api.http.get(
        f"/graphql?{encoded}",
        headers={"Authorization": f"Bearer {arena.attacker.token}", "Accept": "application/json"},
    )
    hostile.assert_client_error_at_worst(response.status_code, response.text)


@given(query=mangled_queries())
async def test_mangled_query_text_gets_a_client_error(arena: Arena, query: str) -> None:
    status, text = await arena.post(hostile.encode({"query": query, "variables": {"f": 3}}))
    hostile.assert_client_error_at_worst(status, text)


def forged_tokens(arena: Arena) -> st.SearchStrategy[str]:
    """Tokens a client could make without the server's key."""
    real = arena.attacker.token
    header, payload, signature = real.split(".")
    victim_claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    victim_claims["sub"] = arena.victim.id

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return st.one_of(
        st.just(f"{header}.{b64(victim_claims)}.{signature}"),
        st.just(f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(victim_claims)}."),
        st.just(jwt.encode(victim_claims, "not-the-server-key-" + "x" * 32, algorithm="HS256")),
        st.just(real[:-2]),
        st.just(real + "."),
        hostile.any_value().map(lambda claims: f"{header}.{b64({'sub': claims})}.{signature}"),
        st.text(
            st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
            max_size=300,
        ),
    )


@given(data=st.data())
async def test_forged_or_malformed_tokens_are_unauthenticated(
    arena: Arena, data: st.DataObject
) -> None:
    token = data.draw(forged_tokens(arena), label="token")
    scheme = data.draw(st.sampled_from(["Bearer ", "bearer ", "Basic ", "", "Bearer  "]))
    status, text = await arena.post(
        hostile.encode({"query": "{ me { id } conversations { edges { node { title } } } }"}),
        {"Authorization": (scheme + token).strip().encode("latin-1")},
    )
    hostile.assert_client_error_at_worst(status, text)
    assert arena.secret not in text
    if status == 431:  # a token past the header limit is refused before anyone reads it
        return
    codes = {error["extensions"]["code"] for error in json.loads(text).get("errors", [])}
    assert codes == {"UNAUTHENTICATED"}


def websocket_messages() -> st.SearchStrategy[str | bytes]:
    """Frames that break graphql-transport-ws: not JSON, not objects, wrong field types."""
    messages = st.fixed_dictionaries(
        {
            "type": st.one_of(
                st.sampled_from(["connection_init", "subscribe", "complete", "ping", "pong"]),
                hostile.any_value(),
            )
        },
        optional={"id": hostile.any_value(), "payload": hostile.any_value()},
    )
    return st.one_of(
        bodies().map(lambda raw: raw.decode("utf-8", "replace")),
        st.binary(max_size=50),
        messages.map(hostile.encode).map(bytes.decode),
    )


@given(messages=st.lists(websocket_messages(), min_size=1, max_size=4), init=st.booleans())
async def test_malformed_websocket_messages_close_the_socket_cleanly(
    arena: Arena, messages: list[str | bytes], init: bool
) -> None:
    url = arena.api.url.replace("http://", "ws://") + "/graphql"
    received: list[str | bytes] = []
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
        if init:
            await connection.send(
                json.dumps(
                    {
                        "type": "connection_init",
                        "payload": {"authorization": f"Bearer {arena.attacker.token}"},
                    }
                )
            )
        try:
            for message in messages:
                await connection.send(message)
            async with asyncio.timeout(2):
                async for reply in connection:
                    received.append(reply)
        except (TimeoutError, websockets.ConnectionClosedOK):
            pass
        except websockets.ConnectionClosedError as closed:
            code = closed.rcvd.code if closed.rcvd else None
            assert code is not None, "the server dropped the WebSocket without a close frame"
            assert code == 1009 or 4400 <= code < 4500, f"the server closed it with {code}"
    hostile.assert_client_error_at_worst(200, "\n".join(map(str, received)))


@pytest.mark.parametrize(
    "query",
    [
        "{ ...Undefined }",
        "query { me { ...Undefined } }",
        "query { }",
        "query { me { } }",
        "{ me { ... on User { } } }",
        "query { me { ...Empty } } fragment Empty on User { }",
    ],
)
async def test_unknown_fragments_and_empty_selections_are_client_errors(
    arena: Arena, query: str
) -> None:
    status, text = await arena.post(hostile.encode({"query": query}))
    hostile.assert_client_error_at_worst(status, text)
    assert json.loads(text)["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "query",
    [
        "subscription { postStream(postId: 1) { delta } }",
        'subscription { promptStream(prompt: "over http") { delta } }',
    ],
)
async def test_a_subscription_asking_for_a_plain_json_answer_is_refused(
    arena: Arena, method: str, query: str
) -> None:
    before = await arena.victim_rows()
    response = await arena.api.http.request(
        method,
        "/graphql",
        params={"query": query} if method == "GET" else None,
        json={"query": query} if method == "POST" else None,
        headers={"Authorization": f"Bearer {arena.attacker.token}", "Accept": "application/json"},
    )
    hostile.assert_client_error_at_worst(response.status_code, response.text)
    assert response.status_code == 400
    assert "subscriptions are not allowed" in response.text
    assert await arena.victim_rows() == before


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", ["\ud800", "lone \udfff", "é", "B" * 300, "A B", 5, {"a": 1}, []])
async def test_operation_names_that_are_not_graphql_names_get_a_client_error(
    arena: Arena, method: str, name: Any
) -> None:
    query = "query A { me { id } }"
    if method == "GET":
        encoded = "".join(f"%{byte:02X}" for byte in json.dumps(name).encode())
        plain = name if isinstance(name, str) else json.dumps(name)
        raw = "".join(f"%{byte:02X}" for byte in plain.encode("utf-8", "surrogatepass"))
        response = await arena.api.http.get(
            f"/graphql?query={query}&operationName={raw}&x={encoded}",
            headers={
                "Authorization": f"Bearer {arena.attacker.token}",
                "Accept": "application/json",
            },
        )
        status, text = response.status_code, response.text
    else:
        status, text = await arena.post(hostile.encode({"query": query, "operationName": name}))
    hostile.assert_client_error_at_worst(status, text)
    assert status == 400


def _subscribe(operation_id: Any, **payload: Any) -> str:
    return json.dumps({"type": "subscribe", "id": operation_id, "payload": payload})


SLOW_QUERY = 'subscription { promptStream(prompt: "slow") { delta } }'
QUERY_A = "subscription A { postStream(postId: 1) { delta } }"
PROTOCOL_BREAKERS: dict[str, list[str]] = {
    "operation name too long for a close reason": [
        _subscribe("1", query=QUERY_A, operationName="B" * 300)
    ],
    "operation name with a lone surrogate": [
        _subscribe("1", query=QUERY_A, operationName="\ud800")
    ],
    "operation name not a string": [_subscribe("1", query=QUERY_A, operationName=5)],
    "id reused, too long for a close reason": [_subscribe("x" * 300, query=SLOW_QUERY)] * 2,
    "id reused, with a lone surrogate": [_subscribe("\ud800", query=SLOW_QUERY)] * 2,
    "id a number": [_subscribe(5, query=QUERY_A)],
    "id an object": [_subscribe({"a": 1}, query=QUERY_A)],
    "id missing": [json.dumps({"type": "subscribe", "payload": {"query": QUERY_A}})],
    "payload a string": [json.dumps({"type": "subscribe", "id": "1", "payload": "x"})],
    "payload missing": [json.dumps({"type": "subscribe", "id": "1"})],
    "query a number": [_subscribe("1", query=5)],
    "variables a string": [_subscribe("1", query=QUERY_A, variables="x")],
    "extensions a list": [_subscribe("1", query=QUERY_A, extensions=[1])],
    "complete with a list id": [json.dumps({"type": "complete", "id": [1]})],
    "type too long for a close reason": [json.dumps({"type": "t" * 300})],
    "type with a lone surrogate": [json.dumps({"type": "\ud800"})],
    "type a list": [json.dumps({"type": [1]})],
}


@pytest.mark.parametrize("case", sorted(PROTOCOL_BREAKERS))
async def test_protocol_breaking_websocket_messages_close_the_socket_with_a_reason(
    arena: Arena, case: str
) -> None:
    url = arena.api.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
        await connection.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"authorization": f"Bearer {arena.attacker.token}"},
                }
            )
        )
        assert json.loads(await connection.recv())["type"] == "connection_ack"
        with contextlib.suppress(websockets.ConnectionClosed):
            for message in PROTOCOL_BREAKERS[case]:
                await connection.send(message)
            async with asyncio.timeout(5):
                async for reply in connection:
                    hostile.assert_client_error_at_worst(200, str(reply))
        # 1006: dropped without a close frame, as when the server's handler crashes.
        assert connection.close_code is not None
        assert 4400 <= connection.close_code < 4500, connection.close_code


async def test_only_graphql_transport_ws_is_spoken(arena: Arena) -> None:
    """The legacy `graphql-ws` subprotocol has no authentication timeout: refused outright."""
    url = arena.api.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-ws"]) as connection:  # type: ignore[list-item]
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            async with asyncio.timeout(5):
                await connection.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406


HEADER_NAMES = [
    "X-Request-ID",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "Origin",
    "Accept",
    "Accept-Encoding",
    "Content-Type",
    "Content-Length",
    "Authorization",
    "Cookie",
    "Host",
    "Connection",
    "Upgrade",
    "Expect",
]
HEADER_VALUES = [
    b"",
    b"unknown",
    b"::1, 10.0.0.1, \xff",
    b"1.2.3.4, 1.2.3.4, 1.2.3.4" * 40,
    b"-1",
    b"\xb2",
    b"99999999999999999999999",
    b"null",
    b"http://evil.example",
    b"gzip;q=NaN, br;q=2",
    b"application/json; charset=\xff",
    b"100-continue",
    b"websocket",
    b"../" * 50,
    b"x" * 8_000,
]
LOGIN_BODY = (
    b'{"query": "mutation { login(username: \\"nobody-here\\", password: \\"wrong password\\") '
    b'{ token } }"}'
)


def header_lines() -> st.SearchStrategy[list[tuple[str, bytes]]]:
    values = st.one_of(
        st.sampled_from(HEADER_VALUES),
        st.binary(max_size=60).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"")),
    )
    return st.lists(st.tuples(st.sampled_from(HEADER_NAMES), values), max_size=6)


@given(headers=header_lines(), body=st.sampled_from([LOGIN_BODY, VALID_BODY]))
async def test_hostile_headers_get_a_client_error(
    arena: Arena, headers: list[tuple[str, bytes]], body: bytes
) -> None:
    """Sent on a raw socket, as no client library would let them through."""
    port = int(arena.api.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        request = [
            b"POST /graphql HTTP/1.1",
            b"Host: api",
            f"Authorization: Bearer {arena.attacker.token}".encode(),
            b"Content-Type: application/json",
            f"Content-Length: {len(body)}".encode(),
            *(name.encode() + b": " + value for name, value in headers),
            b"Connection: close",
        ]
        writer.write(b"\r\n".join(request) + b"\r\n\r\n" + body)
        await writer.drain()
        async with asyncio.timeout(30):
            answer = await reader.read()
    finally:
        writer.close()
    assert answer, "the connection was closed without an answer"
    status = int(answer.split(b" ", 2)[1])
    hostile.assert_client_error_at_worst(status, answer.decode("latin-1"))
