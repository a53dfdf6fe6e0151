"""Conversations as trees: edit a sent prompt, regenerate an answer, flip between versions;
the model sees only the branch, and nothing is lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.standins import Behaviour, VLLMStandin
from tests.support import Account, ApiServer, GraphQLSocket, SubscriptionError, counted_statements

MISSING_ID = "2147483000"
POST_FIELDS = "id prompt body status parentId siblingIds siblingIndex replacedPostId"
BRANCH = (
    "query($id: ID!, $last: Int) { conversation(id: $id) { currentPostId "
    f"posts(last: $last) {{ edges {{ cursor node {{ {POST_FIELDS} }} }} "
    "pageInfo { hasPreviousPage startCursor } } } }"
)
EDIT = (
    f"mutation($id: ID!, $p: String!) {{ editPrompt(postId: $id, prompt: $p) {{ {POST_FIELDS} }} }}"
)
REGENERATE = f"mutation($id: ID!) {{ regeneratePost(postId: $id) {{ {POST_FIELDS} }} }}"
SELECT = "mutation($id: ID!) { selectBranch(postId: $id) { id currentPostId } }"
SEND = (
    "mutation($c: ID, $p: String!, $parent: ID) { sendPrompt(conversationId: $c, prompt: $p, "
    f"parentId: $parent) {{ {POST_FIELDS} conversationId }} }}"
)
POST_STREAM = "subscription($id: ID!) { postStream(postId: $id) { done post { id status } } }"
PROMPT_STREAM = (
    "subscription($c: ID, $p: String!, $parent: ID) { promptStream(conversationId: $c, "
    "prompt: $p, parentId: $parent) { done post { id } } }"
)
STOP = "mutation($id: ID!) { stopGeneration(postId: $id) { status body } }"


async def finished(api: ApiServer, account: Account, post_id: str) -> None:
    """Follow an answer started in the background to its end."""
    async with GraphQLSocket.connect(api.url, account.token) as socket:
        async for _ in socket.subscribe(POST_STREAM, {"id": post_id}):
            pass


async def branch(api: ApiServer, account: Account, conversation_id: str) -> list[dict[str, Any]]:
    data = await api.ok(BRANCH, {"id": conversation_id, "last": 100}, token=account.token)
    return [edge["node"] for edge in data["conversation"]["posts"]["edges"]]


async def prompts_of(api: ApiServer, account: Account, conversation_id: str) -> list[str]:
    return [post["prompt"] for post in await branch(api, account, conversation_id)]


async def chain(api: ApiServer, account: Account, *prompts: str) -> list[dict[str, Any]]:
    """A conversation of these prompts, one after another: their posts."""
    posts = [await api.send_prompt(account, prompts[0])]
    for prompt in prompts[1:]:
        posts.append(await api.send_prompt(account, prompt, posts[0]["conversationId"]))
    return posts


async def test_editing_a_prompt_makes_a_sibling_and_the_model_sees_only_its_branch(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    one, two, three = await chain(api, alice, "one", "two", "three")
    edited = (await api.ok(EDIT, {"id": two["id"], "p": "two, edited"}, token=alice.token))[
        "editPrompt"
    ]
    assert edited["parentId"] == one["id"]
    assert edited["siblingIds"] == [two["id"], edited["id"]]
    assert edited["siblingIndex"] == 1
    await finished(api, alice, edited["id"])
    assert [m["content"] for m in model.requests[-1]["messages"][1:]] == [
        "one",
        "Echo: one",
        "two, edited",
    ]
    assert await prompts_of(api, alice, one["conversationId"]) == ["one", "two, edited"]
    # Continuing the edited branch: the history is its own, never the sibling's text.
    await api.send_prompt(alice, "four", one["conversationId"])
    history = [m["content"] for m in model.requests[-1]["messages"][1:]]
    assert history == ["one", "Echo: one", "two, edited", "Echo: two, edited", "four"]
    assert "three" not in str(model.requests[-1]["messages"])
    # The branch edited away from is all there.
    selected = await api.ok(SELECT, {"id": two["id"]}, token=alice.token)
    assert selected["selectBranch"]["currentPostId"] == three["id"]
    assert await prompts_of(api, alice, one["conversationId"]) == ["one", "two", "three"]


async def test_switching_back_and_forth_between_branches(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    one, _ = await chain(api, alice, "one", "two")
    conversation = one["conversationId"]
    edited = (await api.ok(EDIT, {"id": one["id"], "p": "uno"}, token=alice.token))["editPrompt"]
    await finished(api, alice, edited["id"])
    await api.send_prompt(alice, "dos", conversation)
    for _ in range(2):
        await api.ok(SELECT, {"id": one["id"]}, token=alice.token)
        assert await prompts_of(api, alice, conversation) == ["one", "two"]
        await api.ok(SELECT, {"id": edited["id"]}, token=alice.token)
        assert await prompts_of(api, alice, conversation) == ["uno", "dos"]
    first = (await branch(api, alice, conversation))[0]
    assert (first["parentId"], first["siblingIds"], first["siblingIndex"]) == (
        None,
        [one["id"], edited["id"]],
        1,
    )


async def test_three_regenerations_give_four_versions_in_order(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    one, two = await chain(api, alice, "one", "two")
    versions = [two["id"]]
    for number in range(3):
        model.queue_behaviour(Behaviour(text=f"version {number + 2}"))
        new = (await api.ok(REGENERATE, {"id": versions[-1]}, token=alice.token))["regeneratePost"]
        await finished(api, alice, new["id"])
        versions.append(new["id"])
    last = (await branch(api, alice, one["conversationId"]))[-1]
    assert last["siblingIds"] == versions
    assert last["siblingIndex"] == 3
    assert last["body"] == "version 4"
    assert last["replacedPostId"] == versions[2]
    # Each version is still there to flip to.
    await api.ok(SELECT, {"id": versions[1]}, token=alice.token)
    assert (await branch(api, alice, one["conversationId"]))[-1]["body"] == "version 2"


async def test_send_prompt_with_a_parent_id_continues_from_that_post(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    one, _, _ = await chain(api, alice, "one", "two", "three")
    conversation = one["conversationId"]
    sent = (
        await api.ok(SEND, {"c": conversation, "p": "after one", "parent": one["id"]}, alice.token)
    )["sendPrompt"]
    assert sent["parentId"] == one["id"]
    assert [m["content"] for m in model.requests[-1]["messages"][1:]] == [
        "one",
        "Echo: one",
        "after one",
    ]
    assert await prompts_of(api, alice, conversation) == ["one", "after one"]
    # parentId alone names the conversation too.
    alone = (await api.ok(SEND, {"p": "again", "parent": one["id"]}, alice.token))["sendPrompt"]
    assert alone["conversationId"] == conversation
    assert alone["siblingIds"][-1] == alone["id"]
    assert len(alone["siblingIds"]) == 3


async def test_prompt_stream_with_a_parent_id_continues_from_that_post(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    one, _ = await chain(api, alice, "one", "two")
    conversation = one["conversationId"]
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = [
            event["promptStream"]
            async for event in socket.subscribe(
                PROMPT_STREAM, {"c": conversation, "p": "streamed after one", "parent": one["id"]}
            )
        ]
    assert events[-1]["done"]
    assert [m["content"] for m in model.requests[-1]["messages"][1:]] == [
        "one",
        "Echo: one",
        "streamed after one",
    ]
    assert await prompts_of(api, alice, conversation) == ["one", "streamed after one"]
    (streamed,) = [
        post
        for post in await branch(api, alice, conversation)
        if post["id"] == events[-1]["post"]["id"]
    ]
    assert streamed["parentId"] == one["id"]
    assert len(streamed["siblingIds"]) == 2


async def test_pagination_along_a_long_branch_while_new_posts_arrive(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    posts = await chain(api, alice, *[f"p{number}" for number in range(12)])
    conversation = posts[0]["conversationId"]
    # A side branch in the middle, then back to the main one.
    side = (await api.ok(EDIT, {"id": posts[5]["id"], "p": "side"}, token=alice.token))[
        "editPrompt"
    ]
    await finished(api, alice, side["id"])
    await api.ok(SELECT, {"id": posts[11]["id"]}, token=alice.token)
    page_query = (
        "query($id: ID!, $before: String) { conversation(id: $id) { posts(last: 5, "
        "before: $before) { edges { node { prompt } } pageInfo { hasPreviousPage "
        "startCursor } } } }"
    )
    seen: list[str] = []
    before = None
    while True:
        data = await api.ok(page_query, {"id": conversation, "before": before}, alice.token)
        page = data["conversation"]["posts"]
        seen = [edge["node"]["prompt"] for edge in page["edges"]] + seen
        if not seen or len(seen) == 5:
            await api.send_prompt(alice, "arrived while paging", conversation)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == [f"p{number}" for number in range(12)]


async def test_empty_or_oversized_edited_prompt_is_bad_user_input(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    (one,) = await chain(api, alice, "one")
    for prompt in ("", "  \n", "x" * (api.settings.max_prompt_chars + 1)):
        error = await api.error(EDIT, {"id": one["id"], "p": prompt}, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await prompts_of(api, alice, one["conversationId"]) == ["one"]


async def test_two_edits_of_one_post_at_once_both_land_as_siblings(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    one, two = await chain(api, alice, "one", "two")
    edits = await asyncio.gather(
        *(api.ok(EDIT, {"id": two["id"], "p": f"tab {tab}"}, token=alice.token) for tab in (1, 2))
    )
    ids = [edit["editPrompt"]["id"] for edit in edits]
    for post_id in ids:
        await finished(api, alice, post_id)
    last = (await branch(api, alice, one["conversationId"]))[-1]
    assert sorted(last["siblingIds"]) == sorted([two["id"], *ids])
    assert last["id"] in ids
    # Exactly one branch is current: the first post, and one version of the second.
    assert len(await branch(api, alice, one["conversationId"])) == 2


async def test_an_answer_edited_away_from_goes_on_and_can_be_stopped(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    (one,) = await chain(api, alice, "one")
    words = " ".join(f"w{number}" for number in range(80))
    model.queue_behaviour(Behaviour(text=words, token_delay=0.05))
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = socket.subscribe(
            PROMPT_STREAM, {"c": one["conversationId"], "p": "long", "parent": None}
        )
        writing = (await anext(events))["promptStream"]["post"]["id"]
        edited = (await api.ok(EDIT, {"id": writing, "p": "short"}, token=alice.token))[
            "editPrompt"
        ]
        stopped = (await api.ok(STOP, {"id": writing}, token=alice.token))["stopGeneration"]
        assert stopped["status"] == "CANCELLED"
        async for _ in events:
            pass
    await finished(api, alice, edited["id"])
    assert await prompts_of(api, alice, one["conversationId"]) == ["one", "short"]


async def test_prompts_search_finds_prompts_on_every_branch(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    one, two = await chain(api, alice, "find one", "find two")
    edited = (await api.ok(EDIT, {"id": two["id"], "p": "find edited"}, token=alice.token))[
        "editPrompt"
    ]
    await finished(api, alice, edited["id"])
    regenerated = (await api.ok(REGENERATE, {"id": one["id"]}, token=alice.token))["regeneratePost"]
    await finished(api, alice, regenerated["id"])
    found = await api.ok(
        '{ prompts(search: "find") { edges { node { prompt } } } }', token=alice.token
    )
    assert [edge["node"]["prompt"] for edge in found["prompts"]["edges"]] == [
        "find edited",
        "find two",
        "find one",
    ]


async def test_the_current_branch_is_kept_for_the_next_visit(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    one, two = await chain(api, alice, "one", "two")
    edited = (await api.ok(EDIT, {"id": two["id"], "p": "deux"}, token=alice.token))["editPrompt"]
    await finished(api, alice, edited["id"])
    data = await api.ok(BRANCH, {"id": one["conversationId"], "last": 50}, token=alice.token)
    assert data["conversation"]["currentPostId"] == edited["id"]
    listed = await api.ok(
        "{ conversations { edges { node { id currentPostId } } } }", token=alice.token
    )
    assert listed["conversations"]["edges"][0]["node"]["currentPostId"] == edited["id"]


@pytest.fixture
async def foreign(api: ApiServer, model: VLLMStandin) -> dict[str, Any]:
    """Ids that are not mallory's to use: alice's post, a post of mallory's deleted
    conversation, an id that never existed; and a post of another conversation of hers."""
    alice = await api.new_user("alice")
    mallory = await api.new_user("mallory")
    (alices,) = await chain(api, alice, "alice's secret")
    (deleted,) = await chain(api, mallory, "gone")
    await api.ok(
        "mutation($id: ID!) { deleteConversation(id: $id) }",
        {"id": deleted["conversationId"]},
        token=mallory.token,
    )
    (own,) = await chain(api, mallory, "mine")
    (elsewhere,) = await chain(api, mallory, "my other conversation")
    return {
        "alice": alice,
        "mallory": mallory,
        "alices": alices,
        "ids": {"another user's": alices["id"], "deleted": deleted["id"], "missing": MISSING_ID},
        "own": own,
        "elsewhere": elsewhere,
    }


@pytest.mark.parametrize("kind", ["another user's", "deleted", "missing"])
@pytest.mark.parametrize(
    ("operation", "query"),
    [
        ("editPrompt", EDIT),
        ("regeneratePost", REGENERATE),
        ("selectBranch", SELECT),
        ("sendPrompt", SEND),
    ],
)
async def test_tree_operations_on_ids_not_yours_are_the_same_not_found(
    api: ApiServer, foreign: dict[str, Any], kind: str, operation: str, query: str
) -> None:
    mallory = foreign["mallory"]
    post_id = foreign["ids"][kind]
    variables = {"id": post_id, "p": "pwned", "parent": post_id, "c": None}
    error = await api.error(query, variables, token=mallory.token)
    reference = await api.error(query, {**variables, "id": MISSING_ID, "parent": MISSING_ID},
                                token=mallory.token)  # fmt: skip
    assert error["extensions"] == reference["extensions"] == {"code": "NOT_FOUND"}
    assert error["message"] == reference["message"]
    alice = foreign["alice"]
    assert await prompts_of(api, alice, foreign["alices"]["conversationId"]) == ["alice's secret"]


async def test_a_parent_from_another_conversation_is_not_found(
    api: ApiServer, foreign: dict[str, Any]
) -> None:
    mallory = foreign["mallory"]
    variables = {
        "c": foreign["own"]["conversationId"],
        "p": "hi",
        "parent": foreign["elsewhere"]["id"],
    }
    error = await api.error(SEND, variables, token=mallory.token)
    assert error["extensions"] == {"code": "NOT_FOUND"}
    assert error["message"] == "post not found"
    async with GraphQLSocket.connect(api.url, mallory.token) as socket:
        with pytest.raises(SubscriptionError) as refused:
            async for _ in socket.subscribe(PROMPT_STREAM, variables):
                pass
    assert refused.value.code == "NOT_FOUND"
    for parent in (foreign["alices"]["id"], MISSING_ID):
        streamed = {**variables, "parent": parent}
        async with GraphQLSocket.connect(api.url, mallory.token) as socket:
            with pytest.raises(SubscriptionError) as refused:
                async for _ in socket.subscribe(PROMPT_STREAM, streamed):
                    pass
        assert refused.value.code == "NOT_FOUND"


async def test_sibling_ids_never_name_another_users_posts(
    api: ApiServer, foreign: dict[str, Any]
) -> None:
    mallory = foreign["mallory"]
    posts = await branch(api, mallory, foreign["own"]["conversationId"])
    assert posts[0]["siblingIds"] == [foreign["own"]["id"]]


async def test_an_opened_conversation_costs_at_most_three_statements(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    posts = await chain(api, alice, *[f"p{number}" for number in range(8)])
    side = (await api.ok(EDIT, {"id": posts[3]["id"], "p": "side"}, token=alice.token))[
        "editPrompt"
    ]
    await finished(api, alice, side["id"])
    await api.ok(SELECT, {"id": posts[7]["id"]}, token=alice.token)
    with counted_statements() as statements:
        data = await api.ok(BRANCH, {"id": posts[0]["conversationId"], "last": 50}, alice.token)
    assert len(data["conversation"]["posts"]["edges"]) == 8
    assert len(statements) <= 3, statements
