"""Errors carry stable reasons and their numbers, for pages to word them in any language."""

from __future__ import annotations

from tests.standins import VLLMStandin
from tests.support import PASSWORD, ApiServer, GatewayProcess, start_api

REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
SEND = "mutation($p: String!) { sendPrompt(prompt: $p) { id } }"


async def test_account_errors_carry_their_reason_and_limits(api: ApiServer) -> None:
    short = await api.error(REGISTER, {"u": "someone", "p": "short"})
    assert short["extensions"] == {
        "code": "BAD_USER_INPUT",
        "reason": "password_length",
        "min": 8,
        "max": 1024,
    }
    odd = await api.error(REGISTER, {"u": "no spaces please", "p": PASSWORD})
    assert odd["extensions"]["reason"] == "username_format"
    alice = await api.new_user()
    taken = await api.error(REGISTER, {"u": alice.username, "p": PASSWORD})
    assert taken["extensions"]["reason"] == "username_taken"
    wrong = await api.error(LOGIN, {"u": alice.username, "p": "wrong password"})
    assert wrong["extensions"] == {"code": "UNAUTHENTICATED", "reason": "wrong_credentials"}


async def test_a_lockout_says_how_long_it_lasts(database_url: str) -> None:
    async with start_api(database_url=database_url, login_max_failures=1) as api:
        alice = await api.new_user()
        await api.error(LOGIN, {"u": alice.username, "p": "wrong password"})
        locked = await api.error(LOGIN, {"u": alice.username, "p": PASSWORD})
        assert locked["extensions"]["reason"] == "too_many_failed_logins"
        assert 290 <= locked["extensions"]["retryAfter"] <= 300


async def test_prompt_errors_carry_their_reason_and_limits(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, prompts_per_minute=1
    ) as api:
        alice = await api.new_user()
        too_long = await api.error(SEND, {"p": "x" * 32_001}, token=alice.token)
        assert too_long["extensions"] == {
            "code": "BAD_USER_INPUT",
            "reason": "prompt_too_long",
            "max": 32_000,
        }
        empty = await api.error(SEND, {"p": "  "}, token=alice.token)
        assert empty["extensions"]["reason"] == "prompt_empty"
        await api.ok(SEND, {"p": "one"}, token=alice.token)
        limited = await api.error(SEND, {"p": "two"}, token=alice.token)
        assert limited["extensions"]["reason"] == "prompts_per_minute"
        assert limited["extensions"]["limit"] == 1
        assert limited["extensions"]["retryAfter"] >= 1


async def test_server_info_gives_the_limits_a_page_shows_before_they_are_hit(
    api: ApiServer,
) -> None:
    """The instructions box counts to the same limit the API enforces."""
    info = (await api.ok("{ serverInfo { maxPromptLength maxInstructionsLength } }"))["serverInfo"]
    alice = await api.new_user()
    too_long = await api.error(
        "mutation($i: String) { createConversation(instructions: $i) { id } }",
        {"i": "x" * (info["maxInstructionsLength"] + 1)},
        token=alice.token,
    )
    assert too_long["extensions"] == {
        "code": "BAD_USER_INPUT",
        "reason": "instructions_too_long",
        "max": info["maxInstructionsLength"],
    }
