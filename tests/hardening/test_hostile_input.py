"""Every GraphQL operation under random and hostile arguments: never an internal error, never a
trace of the internals, never a byte of another user's data, never a change to it."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hardening import hostile
from tests.hardening.conftest import Arena
from tests.support import PASSWORD, GraphQLSocket, SubscriptionError

pytestmark = pytest.mark.slow

Variables = Callable[[Arena], st.SearchStrategy[dict[str, Any]]]


@dataclass(frozen=True)
class Operation:
    query: str
    variables: Variables


def arguments(**fields: Callable[[Arena], st.SearchStrategy[Any]]) -> Variables:
    """Each variable hostile, or left out (a required one too)."""
    return lambda arena: st.fixed_dictionaries(
        {}, optional={name: make(arena) for name, make in fields.items()}
    )


def ids_of(kind: str) -> Callable[[Arena], st.SearchStrategy[Any]]:
    def make(arena: Arena) -> st.SearchStrategy[Any]:
        return hostile.ids(arena.conversation_ids if kind == "conversation" else arena.post_ids)

    return make


def cursors_of(kind: str) -> Callable[[Arena], st.SearchStrategy[Any]]:
    def make(arena: Arena) -> st.SearchStrategy[Any]:
        known = arena.conversation_cursors if kind == "conversation" else arena.post_cursors
        return hostile.maybe(hostile.cursors(known))

    return make


def usernames(arena: Arena) -> st.SearchStrategy[Any]:
    """Hostile names, the victim's as a client might disguise it, and the attacker's own
    (whose password, PASSWORD, the attacker knows)."""
    name = arena.victim.username
    disguised = [name.upper(), f" {name} ", name.replace("-", "\u2010"), name + "\u200b"]
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    return st.one_of(
        hostile.typed_or_not(hostile.text()),
        st.sampled_from([name, fullwidth, *disguised, arena.attacker.username]),
    )


def victim_ids(arena: Arena) -> st.SearchStrategy[Any]:
    """The victim's user id, the attacker's own, and ids near them or not ids at all."""
    return hostile.ids([arena.victim.id, arena.attacker.id])


def text(arena: Arena) -> st.SearchStrategy[Any]:
    return hostile.typed_or_not(hostile.text())


def maybe_text(arena: Arena) -> st.SearchStrategy[Any]:
    return hostile.maybe(hostile.typed_or_not(hostile.text()))


def page_size(arena: Arena) -> st.SearchStrategy[Any]:
    return hostile.page_sizes()


def options(arena: Arena) -> st.SearchStrategy[Any]:
    return hostile.options()


def passwords(arena: Arena) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(PASSWORD), hostile.typed_or_not(hostile.text()))


def anything(arena: Arena) -> st.SearchStrategy[Any]:
    return hostile.any_value()


POST_FIELDS = "id conversationId prompt body status error"
EVENT_FIELDS = f"delta done post {{ {POST_FIELDS} }}"
HTTP_OPERATIONS: dict[str, Operation] = {
    "serverInfo": Operation(
        "query { serverInfo { allowSignup maxPromptLength } }", arguments(extra=anything)
    ),
    "me": Operation("query { me { id username } }", arguments(extra=anything)),
    "conversations": Operation(
        "query($f: Int, $a: String, $s: String) { conversations(first: $f, after: $a, "
        "search: $s) { edges { cursor node { id title instructions } } "
        "pageInfo { hasNextPage endCursor } } }",
        arguments(f=page_size, a=cursors_of("conversation"), s=maybe_text),
    ),
    "conversation": Operation(
        "query($id: ID!, $f: Int, $a: String, $l: Int, $b: String) { conversation(id: $id) "
        "{ id title instructions posts(first: $f, after: $a, last: $l, before: $b) "
        f"{{ edges {{ cursor node {{ {POST_FIELDS} }} }} }} }} }}",
        arguments(
            id=ids_of("conversation"),
            f=page_size,
            a=cursors_of("post"),
            l=page_size,
            b=cursors_of("post"),
        ),
    ),
    "prompts": Operation(
        "query($f: Int, $a: String, $s: String) { prompts(first: $f, after: $a, search: $s) "
        f"{{ edges {{ cursor node {{ {POST_FIELDS} }} }} pageInfo {{ hasNextPage }} }} }}",
        arguments(f=page_size, a=cursors_of("post"), s=maybe_text),
    ),
    "register": Operation(
        "mutation($u: String!, $p: String!) { register(username: $u, password: $p) "
        "{ token user { id username } } }",
        arguments(u=usernames, p=passwords),
    ),
    "login": Operation(
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
        "{ user { id username } } }",
        arguments(u=usernames, p=passwords),
    ),
    "createConversation": Operation(
        "mutation($t: String, $i: String) { createConversation(title: $t, instructions: $i) "
        "{ id title instructions } }",
        arguments(t=maybe_text, i=maybe_text),
    ),
    "updateConversation": Operation(
        "mutation($id: ID!, $t: String, $i: String) { updateConversation(id: $id, title: $t, "
        "instructions: $i) { id title instructions } }",
        arguments(id=ids_of("conversation"), t=maybe_text, i=maybe_text),
    ),
    "deleteConversation": Operation(
        "mutation($id: ID!) { deleteConversation(id: $id) }",
        arguments(id=ids_of("conversation")),
    ),
    "sendPrompt": Operation(
        "mutation($c: ID, $p: String!, $o: GenerationOptions) { sendPrompt(conversationId: $c, "
        f"prompt: $p, options: $o) {{ {POST_FIELDS} }} }}",
        arguments(c=ids_of("conversation"), p=text, o=options),
    ),
    "stopGeneration": Operation(
        f"mutation($id: ID!) {{ stopGeneration(postId: $id) {{ {POST_FIELDS} }} }}",
        arguments(id=ids_of("post")),
    ),
    "regeneratePost": Operation(
        "mutation($id: ID!, $o: GenerationOptions) { regeneratePost(postId: $id, options: $o) "
        f"{{ {POST_FIELDS} }} }}",
        arguments(id=ids_of("post"), o=options),
    ),
    # Admin operations, tried by a plain user: FORBIDDEN at worst, the victim's row unchanged.
    "users": Operation(
        "query($f: Int, $a: String, $s: String) { users(first: $f, after: $a, search: $s) "
        "{ edges { node { id username usage { day } quota { usedToday } } } } }",
        arguments(f=page_size, a=maybe_text, s=maybe_text),
    ),
    "auditLog": Operation(
        "query($f: Int, $a: String) { auditLog(first: $f, after: $a) "
        "{ edges { node { actor action target detail } } } }",
        arguments(f=page_size, a=maybe_text),
    ),
    "updateUser": Operation(
        "mutation($id: ID!, $d: Boolean, $r: Role, $q: Int, $m: Int) { updateUser(id: $id, "
        "disabled: $d, role: $r, dailyTokenQuota: $q, monthlyTokenQuota: $m) { id role } }",
        arguments(id=victim_ids, d=anything, r=anything, q=page_size, m=page_size),
    ),
    "resetUserPassword": Operation(
        "mutation($id: ID!) { resetUserPassword(id: $id) { password } }",
        arguments(id=victim_ids),
    ),
    "meUsage": Operation(
        "query($d: Int) { me { usage(days: $d) { day promptTokens } quota { usedToday } } }",
        arguments(d=page_size),
    ),
}
SUBSCRIPTIONS: dict[str, Operation] = {
    "promptStream": Operation(
        "subscription($c: ID, $p: String!, $o: GenerationOptions) { promptStream("
        f"conversationId: $c, prompt: $p, options: $o) {{ {EVENT_FIELDS} }} }}",
        arguments(c=ids_of("conversation"), p=text, o=options),
    ),
    "postStream": Operation(
        f"subscription($id: ID!) {{ postStream(postId: $id) {{ {EVENT_FIELDS} }} }}",
        arguments(id=ids_of("post")),
    ),
}
# A WebSocket closed by the server with one of these (1009: message too big), or normally, is
# a refusal; 1011 is an internal error and 1006 a connection dropped without a close frame.
CLIENT_ERROR_CLOSES = {1009, *range(4400, 4500)}


def assert_safe_for_the_attacker(arena: Arena, status: int, text: str) -> None:
    hostile.assert_client_error_at_worst(status, text)
    assert arena.secret not in text, "another user's data reached the attacker"


@pytest.mark.parametrize("operation", sorted(HTTP_OPERATIONS))
@given(data=st.data())
async def test_hostile_arguments_get_a_client_error_at_worst_and_leave_other_users_alone(
    arena: Arena, operation: str, data: st.DataObject
) -> None:
    chosen = HTTP_OPERATIONS[operation]
    variables = data.draw(chosen.variables(arena), label="variables")
    before = await arena.victim_rows()
    status, text = await arena.post(hostile.encode({"query": chosen.query, "variables": variables}))
    assert_safe_for_the_attacker(arena, status, text)
    assert await arena.victim_rows() == before


@pytest.mark.parametrize("operation", sorted(SUBSCRIPTIONS))
@given(data=st.data())
async def test_subscriptions_under_hostile_arguments_fail_cleanly_and_leave_other_users_alone(
    arena: Arena, operation: str, data: st.DataObject
) -> None:
    chosen = SUBSCRIPTIONS[operation]
    variables = data.draw(chosen.variables(arena), label="variables")
    before = await arena.victim_rows()
    seen: list[Any] = []
    async with GraphQLSocket.connect(arena.api.url, arena.attacker.token) as socket:
        try:
            async with asyncio.timeout(30):
                async for event in socket.subscribe(chosen.query, variables):
                    seen.append(event)
        except SubscriptionError as error:
            seen.append(error.errors)
        close_code = socket.connection.close_code
    assert close_code is None or close_code == 1000 or close_code in CLIENT_ERROR_CLOSES, (
        f"the server closed the WebSocket with {close_code}"
    )
    assert_safe_for_the_attacker(arena, 200, json.dumps(seen))
    assert await arena.victim_rows() == before


NASTY_ID_QUERIES = [
    "query($v: ID!) { conversation(id: $v) { id } }",
    'mutation($v: ID!) { updateConversation(id: $v, title: "x") { id } }',
    "mutation($v: ID!) { deleteConversation(id: $v) }",
    'mutation($v: ID!) { sendPrompt(conversationId: $v, prompt: "x") { id } }',
    "mutation($v: ID!) { stopGeneration(postId: $v) { id } }",
    "mutation($v: ID!) { regeneratePost(postId: $v) { id } }",
]
NASTY_CURSOR_QUERIES = [
    "query($v: String) { conversations(after: $v) { edges { cursor } } }",
    "query($v: String) { prompts(after: $v) { edges { cursor } } }",
    "query($id: ID!, $v: String) { conversation(id: $id) { posts(before: $v) "
    "{ edges { cursor } } } }",
]


def forged_cursors(key: str) -> list[str]:
    raw = [f"p:{key}", f"c:{key}:1", f"c:1:{key}", key]
    return [
        base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")
        for text in raw
    ] + [key]


@pytest.mark.parametrize("value", hostile.NASTY_TEXT + [str(n) for n in hostile.EDGE_INTS])
async def test_every_nasty_id_and_cursor_is_a_client_error(arena: Arena, value: str) -> None:
    """The known-nasty list, every time (the property tests above sample from it)."""
    before = await arena.victim_rows()
    requests = [(query, {"v": value}) for query in NASTY_ID_QUERIES] + [
        (query, {"v": cursor, "id": arena.conversation_ids[-1]})
        for query in NASTY_CURSOR_QUERIES
        for cursor in forged_cursors(value)
    ]
    for query, variables in requests:
        status, text = await arena.post(hostile.encode({"query": query, "variables": variables}))
        assert_safe_for_the_attacker(arena, status, text)
    assert await arena.victim_rows() == before
