"""Share links: snapshots, listing, revoking, reading without login, and attackers."""

from __future__ import annotations

import asyncio
import base64
import secrets
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.api.test_processes import REDIS_URL, require_redis
from tests.standins import Behaviour, VLLMStandin
from tests.support import Account, ApiProcess, ApiServer, GatewayProcess, start_api

SHARE = (
    "mutation($id: ID!) { shareConversation(id: $id) "
    "{ id conversationId url title postCount createdAt } }"
)
SHARES = "query($c: ID) { shares(conversationId: $c) { id url title postCount createdAt } }"
REVOKE = "mutation($id: ID!) { revokeShare(id: $id) }"
SHARED = (
    "query($t: String!) { sharedConversation(token: $t) "
    "{ title createdAt sharedAt posts { prompt body model createdAt } } }"
)
CONTINUE = (
    "mutation($t: String!) { continueSharedConversation(token: $t) "
    "{ id title posts { edges { node { prompt body model } } } } }"
)
DELETE = "mutation($id: ID!) { deleteConversation(id: $id) }"


def token_of(url: str) -> str:
    return url.rsplit("/s/", 1)[1]


@pytest.fixture(scope="module")
async def sharing_api(
    api: ApiServer, database_url: str, gateway: GatewayProcess
) -> AsyncIterator[ApiServer]:
    """The API with the unknown-link limit out of the way (the burst test has its own)."""
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, share_misses_per_minute=100_000
    ) as server:
        yield server


async def chat(api: ApiServer, account: Account, *prompts: str) -> str:
    conversation_id: str | None = None
    for prompt in prompts:
        conversation_id = (await api.send_prompt(account, prompt, conversation_id))[
            "conversationId"
        ]
    assert conversation_id is not None
    return conversation_id


async def share(api: ApiServer, account: Account, conversation_id: str) -> dict[str, Any]:
    data = await api.ok(SHARE, {"id": conversation_id}, token=account.token)
    shared: dict[str, Any] = data["shareConversation"]
    return shared


async def test_share_conversation_makes_a_link_whose_secret_has_at_least_128_bits(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice = await sharing_api.new_user()
    conversation_id = await chat(sharing_api, alice, "first question", "second question")
    made = await share(sharing_api, alice, conversation_id)
    assert made["url"].startswith(f"{sharing_api.url}/s/")
    assert made["postCount"] == 2
    assert made["conversationId"] == conversation_id
    secret = token_of(made["url"])
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) * 8 >= 128
    again = await share(sharing_api, alice, conversation_id)
    assert token_of(again["url"]) != secret


async def test_share_links_name_public_url_when_it_is_set(
    database_url: str, gateway: GatewayProcess, model: VLLMStandin
) -> None:
    async with start_api(
        database_url=database_url,
        llm_gateway_url=gateway.url,
        public_url="https://chat.example.org/",
    ) as server:
        alice = await server.new_user()
        made = await share(server, alice, await chat(server, alice, "public"))
        assert made["url"].startswith("https://chat.example.org/s/")


async def test_shared_conversation_needs_no_login_and_tells_nothing_about_the_owner(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice = await sharing_api.new_user("owner")
    conversation_id = await chat(sharing_api, alice, "what is a share link")
    made = await share(sharing_api, alice, conversation_id)
    response = await sharing_api.post(SHARED, {"t": token_of(made["url"])})
    body = response.json()
    assert not body.get("errors"), body
    shared = body["data"]["sharedConversation"]
    assert shared["title"] == "what is a share link"
    assert shared["posts"] == [
        {
            "prompt": "what is a share link",
            "body": "Echo: what is a share link",
            "model": "standin-model",
            "createdAt": shared["posts"][0]["createdAt"],
        }
    ]
    assert alice.username not in response.text
    # No field of the type names an owner or a row.
    fields = await sharing_api.ok('{ __type(name: "SharedConversation") { fields { name } } }')
    names = {field["name"] for field in fields["__type"]["fields"]}
    assert names == {"title", "createdAt", "sharedAt", "posts"}


async def test_posts_written_after_sharing_do_not_appear_and_sharing_again_makes_a_new_snapshot(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice = await sharing_api.new_user()
    conversation_id = await chat(sharing_api, alice, "before sharing")
    first = token_of((await share(sharing_api, alice, conversation_id))["url"])
    await sharing_api.send_prompt(alice, "after sharing", conversation_id)
    old = (await sharing_api.ok(SHARED, {"t": first}))["sharedConversation"]
    assert [post["prompt"] for post in old["posts"]] == ["before sharing"]
    second = token_of((await share(sharing_api, alice, conversation_id))["url"])
    new = (await sharing_api.ok(SHARED, {"t": second}))["sharedConversation"]
    assert [post["prompt"] for post in new["posts"]] == ["before sharing", "after sharing"]
    # The first link still shows its own snapshot.
    assert (await sharing_api.ok(SHARED, {"t": first}))["sharedConversation"] == old


async def test_an_answer_still_being_written_is_left_out_of_the_snapshot(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice = await sharing_api.new_user()
    conversation_id = await chat(sharing_api, alice, "finished one")
    model.queue_behaviour(Behaviour(text="slow words " * 20, token_delay=0.05))
    await sharing_api.ok(
        "mutation($c: ID, $p: String!) { startPrompt(conversationId: $c, prompt: $p, "
        'clientId: "share-in-flight") { id } }',
        {"c": conversation_id, "p": "still streaming"},
        token=alice.token,
    )
    made = await share(sharing_api, alice, conversation_id)
    assert made["postCount"] == 1
    shared = (await sharing_api.ok(SHARED, {"t": token_of(made["url"])}))["sharedConversation"]
    assert [post["prompt"] for post in shared["posts"]] == ["finished one"]
    await sharing_api.ok(
        "mutation($c: ID!) { deleteConversation(id: $c) }",
        {"c": conversation_id},
        token=alice.token,
    )


async def test_shares_lists_mine_and_revoke_share_ends_the_link_at_once(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice = await sharing_api.new_user()
    one = await chat(sharing_api, alice, "one")
    two = await chat(sharing_api, alice, "two")
    first, second = await share(sharing_api, alice, one), await share(sharing_api, alice, two)
    listed = (await sharing_api.ok(SHARES, token=alice.token))["shares"]
    assert [item["id"] for item in listed] == [second["id"], first["id"]]
    only_one = (await sharing_api.ok(SHARES, {"c": one}, token=alice.token))["shares"]
    assert [item["id"] for item in only_one] == [first["id"]]
    assert (await sharing_api.ok(REVOKE, {"id": first["id"]}, token=alice.token))["revokeShare"]
    assert (await sharing_api.ok(SHARED, {"t": token_of(first["url"])}))[
        "sharedConversation"
    ] is None
    assert (await sharing_api.ok(SHARED, {"t": token_of(second["url"])}))["sharedConversation"]
    listed = (await sharing_api.ok(SHARES, token=alice.token))["shares"]
    assert [item["id"] for item in listed] == [second["id"]]
    again = await sharing_api.error(REVOKE, {"id": first["id"]}, token=alice.token)
    assert again["extensions"]["code"] == "NOT_FOUND"


async def test_another_user_can_neither_see_nor_revoke_my_shares_nor_share_my_conversation(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice, mallory = await sharing_api.new_user(), await sharing_api.new_user("mallory")
    conversation_id = await chat(sharing_api, alice, "private")
    made = await share(sharing_api, alice, conversation_id)
    assert (await sharing_api.ok(SHARES, token=mallory.token))["shares"] == []
    assert (await sharing_api.ok(SHARES, {"c": conversation_id}, token=mallory.token))[
        "shares"
    ] == []
    for query, variables in (
        (REVOKE, {"id": made["id"]}),
        (SHARE, {"id": conversation_id}),
        (REVOKE, {"id": "99999999"}),
        (REVOKE, {"id": "not-an-id"}),
    ):
        error = await sharing_api.error(query, variables, token=mallory.token)
        assert error["extensions"]["code"] == "NOT_FOUND", (query, error)
    assert (await sharing_api.ok(SHARED, {"t": token_of(made["url"])}))["sharedConversation"]
    # Without a token, none of the owner's fields answer.
    for query, variables in ((SHARES, {}), (SHARE, {"id": conversation_id})):
        error = await sharing_api.error(query, variables)
        assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_deleting_a_conversation_revokes_its_shares(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice = await sharing_api.new_user()
    conversation_id = await chat(sharing_api, alice, "soon gone")
    made = await share(sharing_api, alice, conversation_id)
    await sharing_api.ok(DELETE, {"id": conversation_id}, token=alice.token)
    assert (await sharing_api.ok(SHARED, {"t": token_of(made["url"])}))[
        "sharedConversation"
    ] is None
    assert (await sharing_api.ok(SHARES, token=alice.token))["shares"] == []


async def test_continue_this_conversation_copies_it_into_the_readers_account(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice, bob = await sharing_api.new_user(), await sharing_api.new_user()
    conversation_id = await chat(sharing_api, alice, "shared one", "shared two")
    token = token_of((await share(sharing_api, alice, conversation_id))["url"])
    copy = (await sharing_api.ok(CONTINUE, {"t": token}, token=bob.token))[
        "continueSharedConversation"
    ]
    assert copy["id"] != conversation_id
    assert [edge["node"]["prompt"] for edge in copy["posts"]["edges"]] == [
        "shared one",
        "shared two",
    ]
    # Bob goes on with his copy; alice's conversation is untouched.
    await sharing_api.send_prompt(bob, "bob's turn", copy["id"])
    alices = await sharing_api.ok(
        "query($id: ID!) { conversation(id: $id) { posts { edges { node { prompt } } } } }",
        {"id": conversation_id},
        token=alice.token,
    )
    assert len(alices["conversation"]["posts"]["edges"]) == 2
    error = await sharing_api.error(CONTINUE, {"t": token})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    error = await sharing_api.error(CONTINUE, {"t": "made-up"}, token=bob.token)
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_an_unknown_or_revoked_token_answers_null_and_takes_as_long_as_a_known_one(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice = await sharing_api.new_user()
    conversation_id = await chat(sharing_api, alice, "timing")
    known = token_of((await share(sharing_api, alice, conversation_id))["url"])
    revoked_share = await share(sharing_api, alice, conversation_id)
    await sharing_api.ok(REVOKE, {"id": revoked_share["id"]}, token=alice.token)
    revoked = token_of(revoked_share["url"])
    # The same token with its last character changed: as close to a real one as a guess gets.
    near = known[:-1] + ("A" if known[-1] != "A" else "B")

    async def timed(token: str) -> float:
        started = time.perf_counter()
        await sharing_api.ok(
            "query($t: String!) { sharedConversation(token: $t) { title } }", {"t": token}
        )
        return time.perf_counter() - started

    # Paired by round (the four asked one after the other), so that the load of a busy
    # machine drifting between rounds cancels out of each difference.
    samples: dict[str, list[float]] = {"known": [], "revoked": [], "near": [], "random": []}
    for _ in range(60):
        for name, token in (
            ("known", known),
            ("revoked", revoked),
            ("near", near),
            ("random", secrets.token_urlsafe(24)),
        ):
            samples[name].append(await timed(token))
    typical = statistics.median(samples["known"])
    for name in ("revoked", "near", "random"):
        difference = statistics.median(
            other - known_time
            for other, known_time in zip(samples[name], samples["known"], strict=True)
        )
        assert abs(difference) < max(0.3 * typical, 0.003), (name, difference, typical)
    assert (await sharing_api.ok(SHARED, {"t": near}))["sharedConversation"] is None
    assert (await sharing_api.ok(SHARED, {"t": "x" * 10_000}))["sharedConversation"] is None


async def test_one_request_reads_one_shared_conversation(
    sharing_api: ApiServer, model: VLLMStandin
) -> None:
    alice = await sharing_api.new_user()
    token = token_of(
        (await share(sharing_api, alice, await chat(sharing_api, alice, "one")))["url"]
    )
    for query in (
        "query($t: String!) { a: sharedConversation(token: $t) { title } "
        "b: sharedConversation(token: $t) { title } }",
        "query($t: String!) { a: sharedConversation(token: $t) { title } ...more } "
        "fragment more on Query { b: sharedConversation(token: $t) { title } }",
        "query($t: String!) { ... on Query { a: sharedConversation(token: $t) { title } } "
        "b: sharedConversation(token: $t) { title } }",
    ):
        error = await sharing_api.error(query, {"t": token})
        assert error["extensions"]["reason"] == "one_shared_conversation", query


async def test_a_burst_of_token_guesses_finds_nothing_and_is_rate_limited(
    api: ApiServer, database_url: str, gateway: GatewayProcess, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    conversation_id = await chat(api, alice, "guess me")
    real = token_of((await share(api, alice, conversation_id))["url"])
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, share_misses_per_minute=20
    ) as guarded:
        # A found link does not count against its reader.
        for _ in range(25):
            assert (await guarded.ok(SHARED, {"t": real}))["sharedConversation"]
        guesses = [secrets.token_urlsafe(24) for _ in range(60)]
        answers = await asyncio.gather(*(guarded.gql(SHARED, {"t": guess}) for guess in guesses))
        found = [
            answer for answer in answers if (answer.get("data") or {}).get("sharedConversation")
        ]
        limited = [
            answer
            for answer in answers
            if answer.get("errors") and answer["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        ]
        assert found == []
        assert len(limited) == 40
        assert limited[0]["errors"][0]["extensions"]["reason"] == "too_many_share_lookups"
        # Once limited, the address finds not even a real link.
        after = await guarded.error(SHARED, {"t": real})
        assert after["extensions"]["code"] == "RATE_LIMITED"


@pytest.mark.slow
async def test_revoking_on_one_process_ends_the_link_on_the_other(
    database_url: str, gateway: GatewayProcess, model: VLLMStandin
) -> None:
    require_redis()
    env = {
        "DATABASE_URL": database_url,
        "LLM_GATEWAY_URL": gateway.url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"test-{secrets.token_hex(4)}",
    }
    async with ApiProcess(**env) as first, ApiProcess(**env) as second:
        alice = await first.new_user()
        conversation_id = (await first.send_prompt(alice, "across processes"))["conversationId"]
        made = (await first.ok(SHARE, {"id": conversation_id}, token=alice.token))[
            "shareConversation"
        ]
        token = token_of(made["url"])
        assert (await second.ok(SHARED, {"t": token}))["sharedConversation"]
        assert (await first.ok(SHARED, {"t": token}))["sharedConversation"]
        await second.ok(REVOKE, {"id": made["id"]}, token=alice.token)
        assert (await first.ok(SHARED, {"t": token}))["sharedConversation"] is None
        assert (await second.ok(SHARED, {"t": token}))["sharedConversation"] is None
