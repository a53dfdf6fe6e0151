"""API keys: made from a password session, shown once, stored as a hash, working wherever a
token does, refused at once everywhere once revoked. Tested as an attacker: another user's
key ids, a revoked key on a second process and in bursts, a key on what needs a password."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import Any

from graphql_api.models import ApiKey, User
from tests.api.test_admin import UPDATE, code, make_admin
from tests.api.test_processes import REDIS_URL, require_redis
from tests.standins import Behaviour, VLLMStandin
from tests.support import (
    PASSWORD,
    Account,
    ApiClient,
    ApiProcess,
    ApiServer,
    GatewayProcess,
    GraphQLSocket,
    SubscriptionError,
    counted_statements,
    start_api,
)

CREATE = (
    "mutation($n: String!) { createApiKey(name: $n) { key apiKey { id name createdAt "
    "lastUsedAt } } }"
)
LIST = "{ apiKeys { id name createdAt lastUsedAt } }"
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) }"
ME = "{ me { id username } }"
ME_USAGE = "{ me { usage(days: 1) { prompts } quota { usedToday } } }"
SEND = "mutation($p: String!) { sendPrompt(prompt: $p) { id status body } }"
PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id status } } }"
)
CHANGE = (
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"
)
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
WORDS = " ".join(f"word{number}" for number in range(80))


async def create_key(api: ApiClient, account: Account, name: str = "script") -> dict[str, Any]:
    created: dict[str, Any] = (await api.ok(CREATE, {"n": name}, token=account.token))[
        "createApiKey"
    ]
    return created


async def test_a_new_key_is_shown_once_with_its_prefix_and_stored_only_as_a_hash(
    api: ApiServer,
) -> None:
    alice = await api.new_user("alice")
    created = await create_key(api, alice, "backup script")
    key = created["key"]
    assert key.startswith("e2c_")
    # 32 random bytes in URL-safe base64: 43 characters after the prefix (256 bits).
    assert len(key) - len("e2c_") >= 43
    assert created["apiKey"]["name"] == "backup script"
    assert created["apiKey"]["lastUsedAt"] is None
    listed = (await api.ok(LIST, token=alice.token))["apiKeys"]
    assert listed == [created["apiKey"]]
    assert key not in str(listed)
    with api.database:
        row = await ApiKey.get(id=int(created["apiKey"]["id"]))
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(row.__dict__)
    assert len({(await create_key(api, alice))["key"] for _ in range(5)}) == 5


async def test_a_key_works_over_http_and_on_websocket(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user("alice")
    key = (await create_key(api, alice))["key"]
    assert (await api.ok(ME, token=key))["me"]["username"] == alice.username
    post = (await api.ok(SEND, {"p": "hello by key"}, token=key))["sendPrompt"]
    assert post["status"] == "COMPLETE"
    async with GraphQLSocket.connect(api.url, key) as socket:
        events = [data async for data in socket.subscribe(PROMPT_STREAM, {"p": "hi socket"})]
    assert events[-1]["promptStream"]["done"] is True
    assert events[-1]["promptStream"]["post"]["status"] == "COMPLETE"


async def test_a_bad_key_is_unauthenticated(api: ApiServer) -> None:
    for bad in ("e2c_" + secrets.token_urlsafe(32), "e2c_", "e2c_x" * 300):
        error = await api.error(ME, token=bad)
        assert code(error) == "UNAUTHENTICATED"


async def test_a_key_may_not_manage_keys_change_the_password_end_sessions_or_administer(
    api: ApiServer,
) -> None:
    admin = await make_admin(api)
    key = (await create_key(api, admin))["key"]
    own = (await api.ok(LIST, token=admin.token))["apiKeys"][0]["id"]
    victim = await api.new_user("victim")
    sessions = (await api.ok("{ sessions { id } }", token=admin.token))["sessions"]
    refused: list[tuple[str, dict[str, Any]]] = [
        (CREATE, {"n": "another"}),
        (REVOKE, {"id": own}),
        (CHANGE, {"c": PASSWORD, "n": "a brand new password"}),
        ("mutation($id: ID!) { endSession(id: $id) }", {"id": sessions[0]["id"]}),
        ("mutation { logout }", {}),
        ("{ users { edges { node { id } } } }", {}),
        ("{ auditLog { edges { node { action } } } }", {}),
        (UPDATE, {"id": victim.id, "d": True}),
        ("mutation($id: ID!) { resetUserPassword(id: $id) { password } }", {"id": victim.id}),
    ]
    for query, variables in refused:
        error = await api.error(query, variables, token=key)
        assert code(error) == "FORBIDDEN", query
        assert error["extensions"]["reason"] == "api_key_not_allowed", query
    # Nothing was done: the key still works, the password and the victim are unchanged.
    assert (await api.ok(ME, token=key))["me"]["username"] == admin.username
    assert len((await api.ok(LIST, token=admin.token))["apiKeys"]) == 1
    assert (await api.ok(ME, token=victim.token))["me"]["username"] == victim.username
    with api.database:
        assert (await User.get(id=int(victim.id))).disabled_at is None


async def test_another_users_key_ids_on_revoke_api_key_are_not_found(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    mallory = await api.new_user("mallory")
    key = await create_key(api, alice)
    for guess in (key["apiKey"]["id"], "0", "-1", "abc", "99999999999999999999"):
        error = await api.error(REVOKE, {"id": guess}, token=mallory.token)
        assert code(error) == "NOT_FOUND", guess
    assert (await api.ok(LIST, token=mallory.token))["apiKeys"] == []
    assert (await api.ok(ME, token=key["key"]))["me"]["username"] == alice.username
    # Revoked once: the second time is NOT_FOUND too.
    assert (await api.ok(REVOKE, {"id": key["apiKey"]["id"]}, token=alice.token))["revokeApiKey"]
    error = await api.error(REVOKE, {"id": key["apiKey"]["id"]}, token=alice.token)
    assert code(error) == "NOT_FOUND"


async def test_a_burst_with_a_revoked_key_is_refused_every_time(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    key = await create_key(api, alice)
    assert (await api.ok(ME, token=key["key"]))["me"]["id"] == alice.id
    assert (await api.ok(REVOKE, {"id": key["apiKey"]["id"]}, token=alice.token))["revokeApiKey"]
    with counted_statements() as statements:
        replies = await asyncio.gather(*(api.gql(ME, token=key["key"]) for _ in range(40)))
    assert all(reply["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" for reply in replies)
    # Remembered as refused: the burst costs no query.
    assert not [sql for sql in statements if "api_keys" in sql]
    assert (await api.ok(LIST, token=alice.token))["apiKeys"] == []


async def test_a_revoked_key_closes_its_websocket(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user("alice")
    key = await create_key(api, alice)
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
    async with GraphQLSocket.connect(api.url, key["key"]) as socket:
        try:
            async for data in socket.subscribe(PROMPT_STREAM, {"p": "long answer"}):
                if data["promptStream"]["delta"]:
                    await api.ok(REVOKE, {"id": key["apiKey"]["id"]}, token=alice.token)
                    break
        except SubscriptionError:
            pass
        await asyncio.wait_for(socket._reader, timeout=5)
        assert socket.connection.close_code == 4403


async def test_a_revoked_key_is_refused_at_once_on_a_second_process_sharing_redis(
    database_url: str, gateway: GatewayProcess
) -> None:
    require_redis()
    env = {
        "DATABASE_URL": database_url,
        "LLM_GATEWAY_URL": gateway.url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"test-{secrets.token_hex(4)}",
    }
    async with ApiProcess(**env) as first, ApiProcess(**env) as second:
        alice = await first.new_user("alice")
        key = await create_key(first, alice)
        # The second process holds the key in memory (a warm cache is what must not win),
        # and a WebSocket opened with it.
        for _ in range(3):
            assert (await second.ok(ME, token=key["key"]))["me"]["id"] == alice.id
        async with GraphQLSocket.connect(second.url, key["key"]) as socket:
            assert (await first.ok(REVOKE, {"id": key["apiKey"]["id"]}, token=alice.token))[
                "revokeApiKey"
            ]
            replies = await asyncio.gather(
                *(process.gql(ME, token=key["key"]) for process in (second, first) * 20)
            )
            assert all(
                reply["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" for reply in replies
            )
            await asyncio.wait_for(socket._reader, timeout=5)
            assert socket.connection.close_code == 4403


async def test_a_disabled_users_keys_stop_at_once_and_work_again_when_enabled(
    api: ApiServer,
) -> None:
    admin = await make_admin(api)
    grace = await api.new_user("grace")
    key = (await create_key(api, grace))["key"]
    assert (await api.ok(ME, token=key))["me"]["id"] == grace.id
    await api.ok(UPDATE, {"id": grace.id, "d": True}, token=admin.token)
    replies = await asyncio.gather(*(api.gql(ME, token=key) for _ in range(20)))
    assert all(reply["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" for reply in replies)
    await api.ok(UPDATE, {"id": grace.id, "d": False}, token=admin.token)
    # Re-enabled: the suspension passes once every process has let go of the key.
    with api.database:
        assert await ApiKey.filter(user_id=int(grace.id), revoked_at=None).count() == 1


async def test_usage_through_a_key_counts_toward_usage_and_quotas(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user("alice")
    key = (await create_key(api, alice))["key"]
    await api.ok(SEND, {"p": "counted"}, token=key)
    me = (await api.ok(ME_USAGE, token=alice.token))["me"]
    assert me["usage"][-1]["prompts"] == 1
    assert me["quota"]["usedToday"] > 0
    with api.database:
        await User.filter(id=int(alice.id)).update(daily_token_quota=1)
    error = await api.error(SEND, {"p": "over quota"}, token=key)
    assert code(error) == "QUOTA_EXCEEDED"


async def test_last_used_at_is_shown_after_a_key_is_used(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    key = await create_key(api, alice)
    await api.ok(ME, token=key["key"])
    listed = (await api.ok(LIST, token=alice.token))["apiKeys"]
    assert listed[0]["lastUsedAt"] is not None
    with api.database:
        await api.services.api_keys.flush_last_used()
        row = await ApiKey.get(id=int(key["apiKey"]["id"]))
    assert row.last_used_at is not None


async def test_key_names_are_checked(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    for bad in ("", "   ", "x" * 101):
        error = await api.error(CREATE, {"n": bad}, token=alice.token)
        assert code(error) == "BAD_USER_INPUT", bad


async def test_a_key_exports_its_users_conversations(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user("alice")
    await api.send_prompt(alice, "export me")
    # A fresh key: this process reads it from the database on its first use, here.
    key = (await create_key(api, alice))["key"]
    reply = await api.http.get(
        "/api/export", params={"format": "json"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert reply.status_code == 200
    assert "export me" in reply.text


async def test_an_address_trying_many_wrong_keys_is_rate_limited_before_any_query(
    database_url: str, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, api_key_misses_per_minute=5
    ) as api:
        alice = await api.new_user("alice")
        key = (await create_key(api, alice))["key"]
        assert (await api.ok(ME, token=key))["me"]["id"] == alice.id
        guesses = ["e2c_" + secrets.token_urlsafe(32) for _ in range(30)]
        replies = await asyncio.gather(*(api.gql(ME, token=guess) for guess in guesses))
        codes = [reply["errors"][0]["extensions"]["code"] for reply in replies]
        assert codes.count("UNAUTHENTICATED") == 5
        assert codes.count("RATE_LIMITED") == 25
        with counted_statements() as statements:
            limited = await api.error(ME, token="e2c_" + secrets.token_urlsafe(32))
        assert code(limited) == "RATE_LIMITED"
        assert limited["extensions"]["reason"] == "too_many_api_key_misses"
        assert not [sql for sql in statements if "api_keys" in sql]
        reply = await api.http.get(
            "/v1/models", headers={"Authorization": f"Bearer e2c_{secrets.token_urlsafe(32)}"}
        )
        assert reply.status_code == 429
        assert int(reply.headers["retry-after"]) >= 1
        # The key in use goes on working; a fresh valid key shares the address's budget.
        assert (await api.ok(ME, token=key))["me"]["id"] == alice.id


async def test_a_burst_with_a_new_key_reads_it_once(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    key = (await create_key(api, alice))["key"]
    with counted_statements() as statements:
        replies = await asyncio.gather(*(api.gql(ME, token=key) for _ in range(30)))
    assert all(reply["data"]["me"]["id"] == alice.id for reply in replies)
    assert (
        len([sql for sql in statements if "FROM `api_keys`" in sql or 'FROM "api_keys"' in sql])
        == 1
    )


async def test_a_disabled_users_key_stops_at_once_on_a_second_process_sharing_redis(
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
        admin_token = (await first.ok(LOGIN, {"u": admin.username, "p": PASSWORD}))["login"]
        grace = await first.new_user("grace")
        key = (await create_key(first, grace))["key"]
        assert (await second.ok(ME, token=key))["me"]["id"] == grace.id
        await first.ok(UPDATE, {"id": grace.id, "d": True}, token=admin_token["token"])
        replies = await asyncio.gather(
            *(process.gql(ME, token=key) for process in (second, first) * 10)
        )
        assert all(
            reply["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" for reply in replies
        )
