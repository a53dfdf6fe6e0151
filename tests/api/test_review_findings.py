"""Smaller holes found by a security review, each tried as an attacker or an unlucky user
would meet it."""

from __future__ import annotations

import asyncio
import base64
import time

import pytest

from graphql_api.models import Post, PostStatus, Session
from tests.standins import Behaviour, VLLMStandin
from tests.support import ApiServer, GraphQLSocket, start_api

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) "
    "{ delta done post { id conversationId status } } }"
)
WORDS = " ".join(f"word{number}" for number in range(80))


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("micros", ["999999999999999999", "253402300800000000"])
async def test_a_forged_conversation_cursor_far_in_the_future_is_bad_user_input(
    api: ApiServer, micros: str
) -> None:
    alice = await api.new_user()
    query = f'{{ conversations(after: "{cursor(f"c:{micros}:1")}") {{ edges {{ cursor }} }} }}'
    error = await api.error(query, token=alice.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["message"] == "malformed cursor"


async def test_deleting_a_conversation_stops_its_answer_in_flight(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = socket.subscribe(PROMPT_STREAM, {"p": "delete me while you write"})
        async for data in events:
            post = data["promptStream"]["post"]
            if data["promptStream"]["delta"]:
                break
        asked = time.monotonic()
        await api.ok(
            "mutation($id: ID!) { deleteConversation(id: $id) }",
            {"id": post["conversationId"]},
            token=alice.token,
        )
        gone = await asyncio.to_thread(model.wait_for_disconnect, 2.0)
        rest = [data["promptStream"] async for data in events]
    assert gone is not None
    assert gone - asked < 1.0, "the model kept writing for a deleted conversation"
    assert rest[-1]["post"]["status"] == "CANCELLED"
    with api.database:
        saved = await Post.get(id=int(post["id"]))
    assert saved.status is PostStatus.CANCELLED
    assert WORDS.startswith(saved.body)


async def test_metrics_are_served_only_to_allowed_addresses_or_with_the_token(
    database_url: str,
) -> None:
    async with start_api(database_url=database_url, metrics_allow_ips="10.0.0.0/8") as api:
        assert (await api.http.get("/metrics")).status_code == 403
    secret = "metrics-" + "z" * 32
    async with start_api(
        database_url=database_url, metrics_allow_ips="10.0.0.0/8", metrics_token=secret
    ) as api:
        assert (await api.http.get("/metrics")).status_code == 403
        wrong = await api.http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = await api.http.get("/metrics", headers={"Authorization": f"Bearer {secret}"})
        assert right.status_code == 200
        assert "chat_http_requests" in right.text


async def test_a_failed_answer_tells_the_user_plainly_and_leaks_no_internal_address(
    database_url: str,
) -> None:
    internal = "http://127.0.0.1:9"
    async with start_api(database_url=database_url, llm_gateway_url=internal) as api:
        alice = await api.new_user()
        error = await api.error('mutation { sendPrompt(prompt: "hi") { id } }', token=alice.token)
        body = await api.ok(
            "{ prompts(first: 1) { edges { node { error status } } } }", token=alice.token
        )
    post = body["prompts"]["edges"][0]["node"]
    assert post["status"] == "FAILED"
    for text in (error["message"], post["error"]):
        assert "127.0.0.1" not in text
        assert "ConnectError" not in text
        assert "cannot be reached" in text


async def test_graphiql_page_is_not_served_in_production_unless_asked(database_url: str) -> None:
    production = {"app_env": "production", "database_url": database_url}
    async with start_api(**production) as api:
        for path in ("/graphiql.html", "/graphql"):
            page = await api.http.get(path, headers={"Accept": "text/html"})
            assert page.status_code in (400, 404), path
            assert "graphiql" not in page.text.lower() or page.status_code == 404
    async with start_api(**production, graphiql=True) as api:
        assert (await api.http.get("/graphiql.html")).status_code == 200


async def test_a_websocket_is_closed_when_its_session_is_logged_out(api: ApiServer) -> None:
    alice = await api.new_user()
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        await api.ok("mutation { logout }", token=alice.token)
        deadline = time.monotonic() + 5
        while socket.connection.close_code is None:
            assert time.monotonic() < deadline, "the socket outlived its session"
            await asyncio.sleep(0.05)
        assert socket.connection.close_code == 4403


async def test_a_websocket_is_closed_when_its_password_is_reset(api: ApiServer) -> None:
    alice = await api.new_user()
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        with api.database:
            await api.services.accounts.set_password(alice.username, "a brand new password")
        # Other processes learn of it from the database within about a second.
        deadline = time.monotonic() + 5
        while socket.connection.close_code is None:
            assert time.monotonic() < deadline, "the socket outlived its session"
            await asyncio.sleep(0.05)
        assert socket.connection.close_code == 4403


async def test_sessions_that_expired_long_ago_are_pruned(api: ApiServer) -> None:
    alice = await api.new_user()
    old = (await api.ok(LOGIN, {"u": alice.username, "p": "correct horse battery"}))["login"]
    assert old["token"]
    with api.database:
        sessions = await Session.filter(user__username=alice.username).order_by("created_at")
        assert len(sessions) == 2
        from datetime import UTC, datetime, timedelta

        await Session.filter(jti=sessions[0].jti).update(
            expires_at=datetime.now(UTC) - timedelta(days=30)
        )
        pruned = await api.services.accounts.prune_sessions()
        left = await Session.filter(user__username=alice.username).values_list("jti", flat=True)
    assert pruned >= 1
    assert left == [sessions[1].jti]


async def test_request_headers_larger_than_64_kib_are_refused(api: ApiServer) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    for number in range(200):
        writer.write(f"X-Pad-{number}: {'y' * 1000}\r\n".encode())
    writer.write(b"\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(200), timeout=5)
    assert answer.startswith(b"HTTP/1.1 431"), answer
    writer.close()
    # Headers of a sensible size are served.
    assert (await api.http.get("/healthz", headers={"X-Pad": "y" * 8000})).status_code == 200
