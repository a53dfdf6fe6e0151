"""MariaDB going away and coming back while the API runs: a clear error during the outage,
`/readyz` saying so, and the API back on its own once the database is, with nothing lost."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_processes import REDIS_URL, require_redis
from tests.hardening import hostile
from tests.hardening.mariadb_server import PrivateMariaDB
from tests.standins import Behaviour, VLLMStandin
from tests.support import (
    PASSWORD,
    ApiProcess,
    ApiServer,
    GatewayProcess,
    GraphQLSocket,
    SubscriptionError,
    start_api,
)

pytestmark = pytest.mark.slow

CONTRACT_CODES = {
    "UNAUTHENTICATED",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "RATE_LIMITED",
    "LLM_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR",
    "FORBIDDEN",
    "QUOTA_EXCEEDED",
}
RECOVERY_SECONDS = 30
# Every request must be answered within this while the database is down: none may hang.
ANSWER_SECONDS = 20
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
ME = "{ me { username } }"
LIST = "{ conversations { edges { node { id title } } } prompts { edges { node { prompt } } } }"
SEND = "mutation($p: String!) { sendPrompt(prompt: $p) { id status body } }"
PROMPT_STREAM = "subscription($p: String!) { promptStream(prompt: $p) { delta done } }"
PROMPT_STREAM_POST = (
    "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id status } } }"
)


def assert_clear_outage_error(errors: list[dict[str, Any]]) -> None:
    """A code from the contract, a message that says what is wrong, and nothing internal."""
    assert errors, "a request that needs the database succeeded while it was down"
    error = errors[0]
    assert error["extensions"]["code"] in CONTRACT_CODES
    assert "database is unavailable" in error["message"], error
    assert error["extensions"].get("requestId"), "the error names no request to look up"
    hostile.assert_no_leak(str(errors))


async def ready_status(api: ApiServer) -> int:
    async with asyncio.timeout(ANSWER_SECONDS):
        return (await api.http.get("/readyz")).status_code


async def errors_of(api: ApiServer, query: str, variables: dict[str, Any], token: str) -> Any:
    async with asyncio.timeout(ANSWER_SECONDS):
        return (await api.gql(query, variables, token=token)).get("errors")


async def stream_errors(api: ApiServer, variables: dict[str, Any], token: str) -> Any:
    async with GraphQLSocket.connect(api.url, token) as socket:
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                async for _ in socket.subscribe(PROMPT_STREAM, variables):
                    pass
        except SubscriptionError as error:
            return error.errors
    return []


async def test_mariadb_restart_gives_clear_errors_then_the_api_recovers_without_a_restart(
    tmp_path: Path, llm: VLLMStandin, gateway: GatewayProcess
) -> None:
    with PrivateMariaDB(tmp_path / "mariadb") as server:
        url = server.create_database("chat")
        async with start_api(database_url=url, llm_gateway_url=gateway.url) as api:
            alice = await api.new_user("alice")
            before = await api.send_prompt(alice, "asked before the outage")
            assert await ready_status(api) == 200

            server.kill()
            assert await ready_status(api) == 503
            assert_clear_outage_error(await errors_of(api, LIST, {}, alice.token))
            assert_clear_outage_error(await errors_of(api, SEND, {"p": "lost?"}, alice.token))
            assert_clear_outage_error(
                await errors_of(api, LOGIN, {"u": alice.username, "p": PASSWORD}, "")
            )
            assert_clear_outage_error(await stream_errors(api, {"p": "lost too?"}, alice.token))

            server.start()
            deadline = time.monotonic() + RECOVERY_SECONDS
            while await ready_status(api) != 200:
                assert time.monotonic() < deadline, "/readyz did not recover by itself"
                await asyncio.sleep(0.5)
            data = await api.ok(LIST, token=alice.token)
            assert [edge["node"]["prompt"] for edge in data["prompts"]["edges"]] == [
                before["prompt"]
            ], "a prompt refused during the outage was saved, or the earlier one was lost"
            after = await api.send_prompt(alice, "asked after the outage")
            assert after["status"] == "COMPLETE"
            assert await api.ok(LOGIN, {"u": alice.username, "p": PASSWORD})


async def test_an_answer_whose_final_save_fails_is_settled_by_the_sweep_with_its_text(
    tmp_path: Path, llm: VLLMStandin, gateway: GatewayProcess
) -> None:
    """The database goes away while an answer streams and is still away when it ends: the
    answer must not stay in flight until a restart (unstoppable, not regenerable, holding
    one of its user's slots, and followed for ever)."""
    words = " ".join(f"w{number}" for number in range(30))
    with PrivateMariaDB(tmp_path / "mariadb") as server:
        url = server.create_database("chat")
        async with start_api(database_url=url, llm_gateway_url=gateway.url) as api:
            alice = await api.new_user("alice")
            llm.queue_behaviour(Behaviour(text=words, token_delay=0.08))
            text = ""
            async with GraphQLSocket.connect(api.url, alice.token) as socket:
                async for data in socket.subscribe(PROMPT_STREAM_POST, {"p": "a long one"}):
                    event = data["promptStream"]
                    post_id = event["post"]["id"]
                    text += event["delta"]
                    if text and server.process is not None:
                        server.kill()
                    if event["done"]:
                        break
            assert text == words, "the answer did not go on while the database was away"
            server.start()
            deadline = time.monotonic() + RECOVERY_SECONDS + 15
            while True:
                post = await post_status(api, alice.token, post_id)
                if post and post["status"] == "COMPLETE":
                    break
                assert time.monotonic() < deadline, f"still {post} after the database came back"
                await asyncio.sleep(1)
            assert post["body"] == words
            regenerated = await api.ok(
                "mutation($id: ID!) { regeneratePost(postId: $id) { id } }",
                {"id": post_id},
                token=alice.token,
            )
            assert regenerated["regeneratePost"]["id"] != post_id


async def post_status(api: ApiServer, token: str, post_id: str) -> dict[str, Any] | None:
    body = await api.gql("{ prompts(first: 1) { edges { node { id status body } } } }", token=token)
    if body.get("errors"):
        return None
    edges = body["data"]["prompts"]["edges"]
    node: dict[str, Any] = edges[0]["node"]
    return node if node["id"] == post_id else None


async def test_a_logout_during_an_outage_ends_the_session_everywhere_and_says_what_it_could_not_do(
    tmp_path: Path, llm: VLLMStandin, gateway: GatewayProcess
) -> None:
    require_redis()
    with PrivateMariaDB(tmp_path / "mariadb") as server:
        url = server.create_database("chat")
        shared = {"database_url": url, "llm_gateway_url": llm.url, "redis_url": REDIS_URL}
        async with (
            start_api(**shared) as first,
            ApiProcess(DATABASE_URL=url, LLM_GATEWAY_URL=gateway.url, REDIS_URL=REDIS_URL) as other,
        ):
            alice = await first.new_user("alice")
            assert await other.ok(ME, token=alice.token)
            async with httpx.AsyncClient(base_url=first.url, timeout=30) as browser:
                remembered = await browser.post(
                    "/graphql",
                    json={
                        "query": "mutation($u: String!, $p: String!) "
                        "{ login(username: $u, password: $p, remember: true) { token } }",
                        "variables": {"u": alice.username, "p": PASSWORD},
                    },
                )
                remembered_token = remembered.json()["data"]["login"]["token"]
                secret = browser.cookies.get("chat_refresh", path="/auth")
            assert secret
            server.kill()
            await first.error("mutation { logout }", token=remembered_token)
            error = await first.error("mutation { logout }", token=alice.token)
            assert "could not record it yet" in error["message"]
            for api in (first, other):
                refused = await api.error(ME, token=alice.token)
                assert refused["extensions"]["code"] == "UNAUTHENTICATED"
            server.start()
            deadline = time.monotonic() + RECOVERY_SECONDS
            while True:
                with server.connect("chat") as connection, connection.cursor() as cursor:
                    cursor.execute("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL")
                    (recorded,) = cursor.fetchone()
                if recorded == 2:
                    break
                assert time.monotonic() < deadline, "the logout was never recorded"
                await asyncio.sleep(0.5)
            # The remembered sign-in of a session logged out during the outage stays ended.
            async with httpx.AsyncClient(base_url=first.url, timeout=30) as thief:
                thief.cookies.set("chat_refresh", secret, path="/auth")
                replayed = await thief.post("/auth/refresh", headers={"X-Chat-Refresh": "1"})
            assert replayed.status_code == 401
