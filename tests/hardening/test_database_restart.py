"""MariaDB going away and coming back while the API runs: a clear error during the outage,
`/readyz` saying so, and the API back on its own once the database is, with nothing lost."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hardening import hostile
from tests.hardening.mariadb_server import PrivateMariaDB
from tests.standins import VLLMStandin
from tests.support import PASSWORD, ApiServer, GraphQLSocket, SubscriptionError, start_api

pytestmark = pytest.mark.slow

CONTRACT_CODES = {
    "UNAUTHENTICATED",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "RATE_LIMITED",
    "LLM_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR",
}
RECOVERY_SECONDS = 30
# Every request must be answered within this while the database is down: none may hang.
ANSWER_SECONDS = 20
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
LIST = "{ conversations { edges { node { id title } } } prompts { edges { node { prompt } } } }"
SEND = "mutation($p: String!) { sendPrompt(prompt: $p) { id status body } }"
PROMPT_STREAM = "subscription($p: String!) { promptStream(prompt: $p) { delta done } }"


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
    tmp_path: Path, llm: VLLMStandin
) -> None:
    with PrivateMariaDB(tmp_path / "mariadb") as server:
        url = server.create_database("chat")
        async with start_api(database_url=url, llm_gateway_url=llm.url) as api:
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
