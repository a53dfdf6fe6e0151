"""One search for prompts and answers: every word found, in context, never another user's."""

from __future__ import annotations

from typing import Any

from tests.standins import Behaviour, VLLMStandin
from tests.support import Account, ApiServer

SEARCH = (
    "query($t: String!, $after: String) { searchPosts(text: $t, first: 2, after: $after) { "
    "edges { cursor node { post { id prompt body } matchedIn snippet "
    "highlights { start length } } } "
    "pageInfo { hasNextPage endCursor } } }"
)


async def found(api: ApiServer, account: Account, text: str) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    after = None
    while True:
        data = await api.ok(SEARCH, {"t": text, "after": after}, token=account.token)
        page = data["searchPosts"]
        hits += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return hits
        after = page["pageInfo"]["endCursor"]


def marked(hit: dict[str, Any]) -> list[str]:
    return [hit["snippet"][r["start"] : r["start"] + r["length"]] for r in hit["highlights"]]


async def test_search_finds_words_in_prompts_and_in_answers_newest_first(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    await api.send_prompt(alice, "Plan a trip to Lisbon in spring")
    model.queue_behaviour(Behaviour(text="Porto has the best francesinha sandwiches."))
    await api.send_prompt(alice, "Where should we eat?")
    await api.send_prompt(alice, "Nothing to see here")
    lisbon = await found(api, alice, "lisbon")
    assert [hit["post"]["prompt"] for hit in lisbon] == ["Plan a trip to Lisbon in spring"]
    assert lisbon[0]["matchedIn"] == "PROMPT"
    assert marked(lisbon[0]) == ["Lisbon"]
    in_answer = await found(api, alice, "francesinha")
    assert in_answer[0]["matchedIn"] == "ANSWER"
    assert marked(in_answer[0]) == ["francesinha"]


async def test_every_word_must_be_found_and_word_starts_match(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    await api.send_prompt(alice, "Recipes for dinner tonight")
    await api.send_prompt(alice, "Recipes for breakfast")
    assert [hit["post"]["prompt"] for hit in await found(api, alice, "recip dinner")] == [
        "Recipes for dinner tonight"
    ]
    assert len(await found(api, alice, "RECIPES")) == 2
    assert await found(api, alice, "recipes lunch") == []


async def test_search_pages_through_many_hits(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    for number in range(5):
        await api.send_prompt(alice, f"question about kittens number {number}")
    hits = await found(api, alice, "kittens")
    assert [hit["post"]["prompt"][-1] for hit in hits] == ["4", "3", "2", "1", "0"]


async def test_another_users_posts_never_appear_however_the_query_is_written(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice, mallory = await api.new_user("alice"), await api.new_user("mallory")
    await api.send_prompt(alice, "alice's secret zanzibar plan")
    await api.send_prompt(mallory, "mallory's zanzibar notes")
    for text in ("zanzibar", "secret zanzibar", '"zanzibar" OR alice*', "+zanzibar* -mallory"):
        prompts = [hit["post"]["prompt"] for hit in await found(api, mallory, text)]
        assert all("alice" not in prompt for prompt in prompts), (text, prompts)


async def test_deleted_conversations_are_not_searched(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    post = await api.send_prompt(alice, "forget the quokka")
    await api.ok(
        "mutation($id: ID!) { deleteConversation(id: $id) }",
        {"id": post["conversationId"]},
        token=alice.token,
    )
    assert await found(api, alice, "quokka") == []


async def test_a_search_without_a_usable_word_is_bad_user_input(api: ApiServer) -> None:
    alice = await api.new_user()
    for text in ("", "a b", "!!", "x" * 201):
        error = await api.error(SEARCH, {"t": text}, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", text
