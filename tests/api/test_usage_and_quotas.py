"""Usage per user per day, and token quotas that hold: at the boundary, at the day's and the
month's turn (a clock the tests control), under bursts, and across two processes."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from graphql_api.models import Post, UsageDay, User
from tests.api.test_observability import sample
from tests.api.test_processes import REDIS_URL, require_redis
from tests.standins import Behaviour, VLLMStandin
from tests.support import Account, ApiProcess, ApiServer, GatewayProcess, GraphQLSocket, start_api

ME_USAGE = (
    "query($d: Int) { me { usage(days: $d) { day promptTokens completionTokens prompts } "
    "quota { dailyTokens monthlyTokens usedToday usedThisMonth resetsAt } } }"
)
SEND = "mutation($p: String!) { sendPrompt(prompt: $p) { id promptTokens completionTokens } }"
PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id status } } }"
)
WORDS = " ".join(f"word{number}" for number in range(40))


@contextmanager
def clock(api: ApiServer, at: datetime) -> Iterator[list[datetime]]:
    """The API's idea of now, moved by the test (`now[0] = ...`)."""
    now = [at]
    usage = api.services.usage
    saved = usage.clock
    usage.clock = lambda: now[0]
    try:
        yield now
    finally:
        usage.clock = saved


async def set_quota(
    api: ApiServer, account: Account, daily: int | None, monthly: int | None = None
) -> None:
    with api.database:
        await User.filter(id=int(account.id)).update(
            daily_token_quota=daily, monthly_token_quota=monthly
        )


async def used(api: ApiServer, account: Account) -> dict[str, Any]:
    quota: dict[str, Any] = (await api.ok(ME_USAGE, {"d": 1}, token=account.token))["me"]["quota"]
    return quota


async def posts_of(api: ApiServer, account: Account) -> int:
    with api.database:
        return await Post.filter(user_id=int(account.id)).count()


async def test_usage_counts_each_answers_tokens_per_day(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    with clock(api, datetime(2030, 5, 10, 12, tzinfo=UTC)) as now:
        first = (await api.ok(SEND, {"p": "one two three"}, token=alice.token))["sendPrompt"]
        second = (await api.ok(SEND, {"p": "four five"}, token=alice.token))["sendPrompt"]
        now[0] += timedelta(days=1)
        third = (await api.ok(SEND, {"p": "six"}, token=alice.token))["sendPrompt"]
        me = (await api.ok(ME_USAGE, {"d": 3}, token=alice.token))["me"]
    assert [day["day"] for day in me["usage"]] == ["2030-05-09", "2030-05-10", "2030-05-11"]
    assert me["usage"][0] == {
        "day": "2030-05-09",
        "promptTokens": 0,
        "completionTokens": 0,
        "prompts": 0,
    }
    assert me["usage"][1] == {
        "day": "2030-05-10",
        "promptTokens": first["promptTokens"] + second["promptTokens"],
        "completionTokens": first["completionTokens"] + second["completionTokens"],
        "prompts": 2,
    }
    assert me["usage"][2]["prompts"] == 1
    total = third["promptTokens"] + third["completionTokens"]
    assert me["quota"]["usedToday"] == total
    assert (
        me["quota"]["usedThisMonth"]
        == total + me["usage"][1]["promptTokens"] + me["usage"][1]["completionTokens"]
    )
    # No quota on this server by default: nothing to reset.
    assert me["quota"]["dailyTokens"] is None
    assert me["quota"]["resetsAt"] is None


async def test_usage_days_out_of_range_are_refused(api: ApiServer) -> None:
    alice = await api.new_user()
    for days in (0, -1, 367):
        error = await api.error(ME_USAGE, {"d": days}, token=alice.token)
        assert error["extensions"]["reason"] == "usage_days", days


async def test_many_answers_ending_at_once_are_all_counted(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    sent = await asyncio.gather(
        *(api.ok(SEND, {"p": f"prompt number {n}"}, token=alice.token) for n in range(3))
    )
    tokens = sum(
        post["sendPrompt"]["promptTokens"] + post["sendPrompt"]["completionTokens"] for post in sent
    )
    quota = await used(api, alice)
    assert quota["usedToday"] == tokens
    with api.database:
        assert await UsageDay.filter(user_id=int(alice.id)).count() == 1


async def test_quota_refuses_at_the_boundary_and_resets_at_the_days_turn(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    with clock(api, datetime(2030, 5, 10, 23, 59, 30, tzinfo=UTC)) as now:
        post = (await api.ok(SEND, {"p": "spend some"}, token=alice.token))["sendPrompt"]
        spent = post["promptTokens"] + post["completionTokens"]
        # One token below the quota: allowed (the answer may go over it, and finishes).
        await set_quota(api, alice, daily=spent + 1)
        await api.ok(SEND, {"p": "one more"}, token=alice.token)
        # At or over it: refused before the model is asked, and nothing is saved.
        saved = await posts_of(api, alice)
        asked = len(model.requests)
        error = await api.error(SEND, {"p": "refused"}, token=alice.token)
        assert error["extensions"]["code"] == "QUOTA_EXCEEDED"
        assert error["extensions"]["reason"] == "daily_token_quota"
        assert error["extensions"]["limit"] == spent + 1
        assert error["extensions"]["resetsAt"] == "2030-05-11T00:00:00+00:00"
        assert error["extensions"]["retryAfter"] == 30
        assert "resets at 2030-05-11 00:00 UTC" in error["message"]
        assert await posts_of(api, alice) == saved
        assert len(model.requests) == asked
        quota = await used(api, alice)
        assert quota["dailyTokens"] == spent + 1
        assert quota["resetsAt"] == "2030-05-11T00:00:00+00:00"
        # The day turns: the quota starts again.
        now[0] = datetime(2030, 5, 11, 0, 0, 1, tzinfo=UTC)
        await api.ok(SEND, {"p": "a new day"}, token=alice.token)


async def test_monthly_quota_holds_across_days_and_resets_at_the_months_turn(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    with clock(api, datetime(2030, 1, 30, 10, tzinfo=UTC)) as now:
        post = (await api.ok(SEND, {"p": "spend"}, token=alice.token))["sendPrompt"]
        await set_quota(
            api, alice, daily=None, monthly=post["promptTokens"] + post["completionTokens"]
        )
        now[0] = datetime(2030, 1, 31, 10, tzinfo=UTC)  # another day, the same month
        error = await api.error(SEND, {"p": "refused"}, token=alice.token)
        assert error["extensions"]["reason"] == "monthly_token_quota"
        assert error["extensions"]["resetsAt"] == "2030-02-01T00:00:00+00:00"
        assert (await used(api, alice))["resetsAt"] == "2030-02-01T00:00:00+00:00"
        now[0] = datetime(2030, 2, 1, 0, 0, 1, tzinfo=UTC)
        await api.ok(SEND, {"p": "a new month"}, token=alice.token)
        assert (await used(api, alice))["usedThisMonth"] > 0


async def test_a_burst_of_prompts_at_the_quota_is_all_refused_and_spends_nothing(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    post = (await api.ok(SEND, {"p": "spend"}, token=alice.token))["sendPrompt"]
    await set_quota(api, alice, daily=post["promptTokens"] + post["completionTokens"])
    before = await used(api, alice)
    saved = await posts_of(api, alice)
    bodies = await asyncio.gather(
        *(api.gql(SEND, {"p": f"burst {n}"}, alice.token) for n in range(12))
    )
    assert {body["errors"][0]["extensions"]["code"] for body in bodies} == {"QUOTA_EXCEEDED"}
    assert await used(api, alice) == before
    assert await posts_of(api, alice) == saved


async def test_a_burst_just_under_the_quota_overspends_only_by_the_answers_in_flight(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    await set_quota(api, alice, daily=1)
    model.queue_behaviour(*[Behaviour(text=WORDS, token_delay=0.01)] * 3)
    bodies = await asyncio.gather(
        *(api.gql(SEND, {"p": f"burst {n}"}, alice.token) for n in range(10))
    )
    answered = [body for body in bodies if not body.get("errors")]
    refused = {body["errors"][0]["extensions"]["code"] for body in bodies if body.get("errors")}
    assert 1 <= len(answered) <= api.settings.max_answers_in_flight
    assert refused <= {"RATE_LIMITED", "QUOTA_EXCEEDED"}
    error = await api.error(SEND, {"p": "after the burst"}, token=alice.token)
    assert error["extensions"]["code"] == "QUOTA_EXCEEDED"


async def test_an_answer_running_when_the_quota_is_reached_finishes(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.02))
    statuses = []
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        async for data in socket.subscribe(PROMPT_STREAM, {"p": "long"}):
            if not statuses:
                await set_quota(api, alice, daily=0)
            statuses.append(data["promptStream"]["post"]["status"])
    assert statuses[-1] == "COMPLETE"
    error = await api.error(SEND, {"p": "next"}, token=alice.token)
    assert error["extensions"]["code"] == "QUOTA_EXCEEDED"


async def test_server_default_quota_applies_and_an_admin_override_wins(
    database_url: str, gateway: GatewayProcess, model: VLLMStandin
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, daily_token_quota=0
    ) as api:
        alice = await api.new_user()
        error = await api.error(SEND, {"p": "none allowed"}, token=alice.token)
        assert error["extensions"]["code"] == "QUOTA_EXCEEDED"
        assert (await used(api, alice))["dailyTokens"] == 0
        await set_quota(api, alice, daily=10_000)
        await api.ok(SEND, {"p": "allowed now"}, token=alice.token)
        assert (await used(api, alice))["dailyTokens"] == 10_000


@pytest.mark.slow
async def test_two_processes_cannot_overspend_beyond_the_answers_in_flight(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    require_redis()
    env = {
        "DATABASE_URL": database_url,
        "LLM_GATEWAY_URL": gateway.url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"test-{secrets.token_hex(4)}",
        "MAX_ANSWERS_IN_FLIGHT": "2",
        "PROMPTS_PER_MINUTE": "1000",
        "DAILY_TOKEN_QUOTA": "1",
    }
    async with ApiProcess(**env) as first, ApiProcess(**env) as second:
        both = (first, second)
        alice = await first.new_user()
        model.queue_behaviour(*[Behaviour(text=WORDS, token_delay=0.01)] * 2)
        bodies = await asyncio.gather(
            *(both[n % 2].gql(SEND, {"p": f"burst {n}"}, alice.token) for n in range(12))
        )
        answered = [body for body in bodies if not body.get("errors")]
        assert 1 <= len(answered) <= 2
        for api in both:
            error = await api.error(SEND, {"p": "after"}, token=alice.token)
            assert error["extensions"]["code"] == "QUOTA_EXCEEDED"


async def test_metrics_count_tokens_and_quota_refusals(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    before = (await api.http.get("/metrics")).text
    post = (await api.ok(SEND, {"p": "count me"}, token=alice.token))["sendPrompt"]
    await set_quota(api, alice, daily=0)
    await api.error(SEND, {"p": "refused"}, token=alice.token)
    after = (await api.http.get("/metrics")).text
    for kind, tokens in (
        ("prompt", post["promptTokens"]),
        ("completion", post["completionTokens"]),
    ):
        grown = sample(after, "chat_tokens_total", kind=kind) - sample(
            before, "chat_tokens_total", kind=kind
        )
        assert grown == tokens
    refusals = sample(after, "chat_quota_refusals_total", quota="daily") - sample(
        before, "chat_quota_refusals_total", quota="daily"
    )
    assert refusals == 1
