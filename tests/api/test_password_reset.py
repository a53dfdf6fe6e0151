"""An admin's password reset is one-time: the user who signs in with it must choose their own
password before anything else, over HTTP, WebSocket, the HTTP routes and their API keys."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from graphql_api.models import Conversation, User
from tests.api.test_admin import RESET, make_admin
from tests.api.test_api_keys import create_key
from tests.api.test_processes import REDIS_URL, require_redis
from tests.api.test_sessions import browser, refresh
from tests.support import (
    PASSWORD,
    Account,
    ApiProcess,
    ApiServer,
    GatewayProcess,
    GraphQLSocket,
    SubscriptionError,
)

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
ME = "{ me { id username passwordChangeRequired } }"
REMEMBERED_LOGIN = (
    "mutation($u: String!, $p: String!, $r: Boolean) { login(username: $u, password: $p, "
    "remember: $r) { token user { passwordChangeRequired } } }"
)
CHANGE = (
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"
)
CONVERSATIONS = "{ conversations { edges { node { id } } } }"
CREATE_CONVERSATION = 'mutation { createConversation(title: "mine") { id } }'
SEND = "mutation($p: String!) { sendPrompt(prompt: $p) { id status } }"
START = "mutation($p: String!, $c: String!) { startPrompt(prompt: $p, clientId: $c) { id } }"
PROMPT_STREAM = "subscription($p: String!) { promptStream(prompt: $p) { delta done } }"
POST_STREAM = "subscription($id: ID!) { postStream(postId: $id) { delta done } }"
# Asks for `me` and, hidden in a fragment at the root, the conversations.
ME_AND_HIDDEN = "{ me { id } ... on Query { conversations { edges { node { id } } } } }"
NEW_PASSWORD = "my very own password"
REFUSED = {"code": "FORBIDDEN", "reason": "password_change_required"}


def refusal(error: dict[str, Any]) -> dict[str, Any]:
    return {"code": error["extensions"]["code"], "reason": error["extensions"].get("reason")}


async def events(
    socket: GraphQLSocket, query: str, variables: dict[str, Any]
) -> list[dict[str, Any]]:
    return [data async for data in socket.subscribe(query, variables)]


async def reset_and_login(api: ApiServer, admin: Account, user: Account) -> tuple[str, str]:
    """The one-time password an admin's reset gives `user`, and a session opened with it."""
    reset = (await api.ok(RESET, {"id": user.id}, token=admin.token))["resetUserPassword"]
    one_time = reset["password"]
    token = (await api.ok(LOGIN, {"u": user.username, "p": one_time}))["login"]["token"]
    return one_time, token


REFUSED_OPERATIONS: list[tuple[str, dict[str, Any]]] = [
    (CONVERSATIONS, {}),
    (SEND, {"p": "hello"}),
    (CREATE_CONVERSATION, {}),
    (START, {"p": "hello", "c": "client-1"}),
    (ME_AND_HIDDEN, {}),
    ("{ apiKeys { id } }", {}),
    ("{ sessions { id } }", {}),
]


async def test_reset_password_requires_change_before_anything_else(api: ApiServer) -> None:
    admin = await make_admin(api)
    erin = await api.new_user("erin")
    one_time, token = await reset_and_login(api, admin, erin)

    me = (await api.ok(ME, token=token))["me"]
    assert me == {"id": erin.id, "username": erin.username, "passwordChangeRequired": True}
    for query, variables in REFUSED_OPERATIONS:
        assert refusal(await api.error(query, variables, token=token)) == REFUSED, query
    exported = await api.http.get("/api/export", headers={"Authorization": f"Bearer {token}"})
    assert exported.status_code == 403
    assert exported.json()["errors"][0]["extensions"]["reason"] == "password_change_required"
    imported = await api.http.post(
        "/api/import",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("export.json", b'{"format_version": 1, "conversations": []}')},
    )
    assert imported.status_code == 403
    with api.database:
        assert not await Conversation.filter(user_id=int(erin.id)).exists()

    assert (await api.ok(CHANGE, {"c": one_time, "n": NEW_PASSWORD}, token=token))["changePassword"]
    assert (await api.ok(ME, token=token))["me"]["passwordChangeRequired"] is False
    await api.ok(CONVERSATIONS, token=token)
    await api.ok(CREATE_CONVERSATION, token=token)
    assert (await api.ok(SEND, {"p": "hello"}, token=token))["sendPrompt"]["status"] == "COMPLETE"
    await api.ok(START, {"p": "hello again", "c": "client-1"}, token=token)
    with api.database:
        assert (await User.get(id=int(erin.id))).password_change_required is False
    wrong = await api.error(LOGIN, {"u": erin.username, "p": one_time})
    assert wrong["extensions"]["code"] == "UNAUTHENTICATED"
    fresh = (await api.ok(LOGIN, {"u": erin.username, "p": NEW_PASSWORD}))["login"]["token"]
    assert (await api.ok(ME, token=fresh))["me"]["passwordChangeRequired"] is False


async def test_a_session_with_a_reset_password_may_log_out(api: ApiServer) -> None:
    admin = await make_admin(api)
    fay = await api.new_user("fay")
    _, token = await reset_and_login(api, admin, fay)
    assert (await api.ok("mutation { logout }", token=token))["logout"] is True
    ended = await api.error(ME, token=token)
    assert ended["extensions"]["code"] == "UNAUTHENTICATED"


async def test_reset_password_refuses_subscriptions_until_changed(api: ApiServer) -> None:
    admin = await make_admin(api)
    gus = await api.new_user("gus")
    post_id = (await api.send_prompt(gus, "an earlier answer"))["id"]
    one_time, token = await reset_and_login(api, admin, gus)
    async with GraphQLSocket.connect(api.url, token) as socket:
        for query, variables in ((PROMPT_STREAM, {"p": "hello"}), (POST_STREAM, {"id": post_id})):
            with pytest.raises(SubscriptionError) as refused:
                await events(socket, query, variables)
            assert refusal(refused.value.errors[0]) == REFUSED, query
        await api.ok(CHANGE, {"c": one_time, "n": NEW_PASSWORD}, token=token)
        # The same socket may subscribe once the password is the user's own.
        answered = await events(socket, PROMPT_STREAM, {"p": "hello"})
        assert answered[-1]["promptStream"]["done"] is True


async def test_a_burst_with_a_reset_password_gets_nothing_through(api: ApiServer) -> None:
    admin = await make_admin(api)
    hal = await api.new_user("hal")
    _, token = await reset_and_login(api, admin, hal)
    burst = [REFUSED_OPERATIONS[number % 4] for number in range(20)]
    errors = await asyncio.gather(
        *(api.error(query, variables, token=token) for query, variables in burst)
    )
    assert [refusal(error) for error in errors] == [REFUSED] * 20
    with api.database:
        assert not await Conversation.filter(user_id=int(hal.id)).exists()


async def test_an_api_key_made_before_a_reset_is_refused_until_the_password_is_changed(
    api: ApiServer,
) -> None:
    admin = await make_admin(api)
    ivy = await api.new_user("ivy")
    key = (await create_key(api, ivy))["key"]
    assert (await api.ok(ME, token=key))["me"]["id"] == ivy.id  # held in memory now
    one_time, token = await reset_and_login(api, admin, ivy)
    for query, variables in [(ME, {}), *REFUSED_OPERATIONS[:4]]:
        assert refusal(await api.error(query, variables, token=key)) == REFUSED, query
    models = await api.http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert models.status_code == 403
    exported = await api.http.get("/api/export", headers={"Authorization": f"Bearer {key}"})
    assert exported.status_code == 403

    await api.ok(CHANGE, {"c": one_time, "n": NEW_PASSWORD}, token=token)
    assert (await api.ok(ME, token=key))["me"]["id"] == ivy.id
    models = await api.http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert models.status_code == 200


async def test_a_password_reset_on_the_command_line_asks_for_no_change(api: ApiServer) -> None:
    jo = await api.new_user("jo")
    with api.database:
        await api.services.accounts.set_password(jo.username, NEW_PASSWORD)
    token = (await api.ok(LOGIN, {"u": jo.username, "p": NEW_PASSWORD}))["login"]["token"]
    assert (await api.ok(ME, token=token))["me"]["passwordChangeRequired"] is False
    await api.ok(CONVERSATIONS, token=token)
    assert PASSWORD != NEW_PASSWORD


async def test_a_remembered_sign_in_with_a_reset_password_stays_restricted_when_refreshed(
    api: ApiServer,
) -> None:
    admin = await make_admin(api)
    kim = await api.new_user("kim")
    reset = (await api.ok(RESET, {"id": kim.id}, token=admin.token))["resetUserPassword"]
    async with browser(api) as http:
        reply = await http.post(
            "/graphql",
            json={
                "query": REMEMBERED_LOGIN,
                "variables": {"u": kim.username, "p": reset["password"], "r": True},
            },
        )
        assert reply.json()["data"]["login"]["user"]["passwordChangeRequired"] is True
        renewed = (await refresh(http)).json()
        assert renewed["user"]["passwordChangeRequired"] is True
        refused = await api.error(CONVERSATIONS, token=renewed["token"])
        assert refusal(refused) == REFUSED
        await api.ok(CHANGE, {"c": reset["password"], "n": NEW_PASSWORD}, token=renewed["token"])
        again = (await refresh(http)).json()
        assert again["user"]["passwordChangeRequired"] is False
        await api.ok(CONVERSATIONS, token=again["token"])


async def test_a_password_changed_on_one_process_frees_the_user_on_another_sharing_redis(
    api: ApiServer, database_url: str, gateway: GatewayProcess
) -> None:
    require_redis()
    env = {
        "DATABASE_URL": database_url,
        "LLM_GATEWAY_URL": gateway.url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"test-{secrets.token_hex(4)}",
    }
    async with ApiProcess(**env) as first, ApiProcess(**env) as second:
        admin = await make_admin(api)
        lee = await first.new_user("lee")
        key = (await create_key(first, lee))["key"]
        await second.ok(ME, token=key)  # the second process holds the key in memory
        reset = (await first.ok(RESET, {"id": lee.id}, token=admin.token))["resetUserPassword"]
        token = (await first.ok(LOGIN, {"u": lee.username, "p": reset["password"]}))["login"][
            "token"
        ]
        for process, credential in ((second, key), (second, token), (first, key)):
            refused = await process.error(CONVERSATIONS, token=credential)
            assert refusal(refused) == REFUSED
        await first.ok(CHANGE, {"c": reset["password"], "n": NEW_PASSWORD}, token=token)
        for process, credential in ((second, token), (second, key), (first, key)):
            await process.ok(CONVERSATIONS, token=credential)
