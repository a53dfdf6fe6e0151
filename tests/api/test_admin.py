"""Roles, FORBIDDEN, the admin operations and their audit log, disabled users, the command
line that makes admins. Tested as an attacker: a plain user on every admin operation, ids
of others, bursts at once."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from graphql_api.models import AuditEntry, Post, PostStatus, User
from graphql_api.records import IN_FLIGHT, Role
from tests.api.test_processes import REDIS_URL, require_redis
from tests.api.test_sessions import browser, login, refresh
from tests.conftest import MariaDBDatabase
from tests.standins import Behaviour, VLLMStandin
from tests.support import (
    PASSWORD,
    ROOT,
    TEST_SECRET,
    Account,
    ApiProcess,
    ApiServer,
    GatewayProcess,
    GraphQLSocket,
    counted_statements,
    start_api,
)

USERS = (
    "query($s: String, $a: String, $f: Int) { users(first: $f, after: $a, search: $s) { "
    "edges { cursor node { id username role disabled usage(days: 2) { promptTokens "
    "completionTokens prompts } quota { dailyTokens usedToday } } } "
    "pageInfo { hasNextPage endCursor } } }"
)
AUDIT = (
    "query($a: String, $f: Int) { auditLog(first: $f, after: $a) { edges { cursor node { "
    "actor action target detail createdAt } } pageInfo { hasNextPage endCursor } } }"
)
UPDATE = (
    "mutation($id: ID!, $d: Boolean, $r: Role, $q: Int, $m: Int) { updateUser(id: $id, "
    "disabled: $d, role: $r, dailyTokenQuota: $q, monthlyTokenQuota: $m) { id role disabled "
    "quota { dailyTokens monthlyTokens } } }"
)
RESET = "mutation($id: ID!) { resetUserPassword(id: $id) { password user { id username } } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
ME = "{ me { id role disabled } }"
PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id status } } }"
)
WORDS = " ".join(f"word{number}" for number in range(80))


async def make_admin(api: ApiServer, prefix: str = "admin") -> Account:
    account = await api.new_user(prefix)
    with api.database:
        await api.services.admin.set_role_by_name(account.username, Role.ADMIN)
    return account


async def saved_post(api: ApiServer, post_id: int, within: float = 5.0) -> Post:
    """The post once it is no longer in flight (or as it is after `within` seconds)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        with api.database:
            post = await Post.get(id=post_id)
        if post.status not in IN_FLIGHT or asyncio.get_running_loop().time() > deadline:
            return post
        await asyncio.sleep(0.05)


def code(error: dict[str, Any]) -> str:
    value: str = error["extensions"]["code"]
    return value


@pytest.fixture
def own_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of this test alone (counting admins needs one nobody else adds to)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite://{tmp_path / 'own.sqlite3'}"
        return
    with MariaDBDatabase() as database:
        yield database.url


@pytest.fixture
async def own_api(own_database_url: str, gateway: GatewayProcess) -> AsyncIterator[ApiServer]:
    async with start_api(database_url=own_database_url, llm_gateway_url=gateway.url) as server:
        yield server


async def test_accounts_made_by_sign_up_are_plain_users(api: ApiServer) -> None:
    alice = await api.new_user()
    me = (await api.ok(ME, token=alice.token))["me"]
    assert me == {"id": alice.id, "role": "USER", "disabled": False}


async def test_plain_user_is_forbidden_every_admin_operation(api: ApiServer) -> None:
    mallory = await api.new_user("mallory")
    victim = await api.new_user("victim")
    attempts = [
        (USERS, {}),
        (AUDIT, {}),
        (UPDATE, {"id": victim.id, "d": True}),
        (UPDATE, {"id": mallory.id, "r": "ADMIN"}),
        (UPDATE, {"id": mallory.id, "q": 10**9}),
        (RESET, {"id": victim.id}),
        (RESET, {"id": mallory.id}),
        (UPDATE, {"id": "999999", "d": True}),
    ]
    # All at once, as an attacker would try them.
    errors = await asyncio.gather(
        *(api.error(query, variables, token=mallory.token) for query, variables in attempts)
    )
    assert [code(error) for error in errors] == ["FORBIDDEN"] * len(attempts)
    assert all(error["extensions"]["reason"] == "admin_only" for error in errors)
    with api.database:
        rows = await User.filter(id__in=[int(mallory.id), int(victim.id)]).values(
            "role", "disabled_at", "daily_token_quota"
        )
    assert all(
        row == {"role": Role.USER, "disabled_at": None, "daily_token_quota": None} for row in rows
    )
    # The victim still signs in with their own password: nothing was reset.
    await api.ok(LOGIN, {"u": victim.username, "p": PASSWORD})


async def test_signed_out_caller_is_unauthenticated_on_admin_operations(api: ApiServer) -> None:
    assert code(await api.error(USERS)) == "UNAUTHENTICATED"
    assert code(await api.error(AUDIT)) == "UNAUTHENTICATED"


async def test_admin_lists_users_with_search_paging_usage_and_state(
    api: ApiServer, model: VLLMStandin
) -> None:
    admin = await make_admin(api)
    tag = os.urandom(3).hex()
    listed = [await api.new_user(f"list{tag}") for _ in range(3)]
    await api.send_prompt(listed[0], "count my tokens")
    first = (await api.ok(USERS, {"s": f"list{tag}", "f": 2}, token=admin.token))["users"]
    assert [edge["node"]["username"] for edge in first["edges"]] == [
        listed[0].username,
        listed[1].username,
    ]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (
        await api.ok(
            USERS,
            {"s": f"LIST{tag}", "f": 2, "a": first["pageInfo"]["endCursor"]},
            token=admin.token,
        )
    )["users"]
    assert [edge["node"]["username"] for edge in rest["edges"]] == [listed[2].username]
    assert rest["pageInfo"]["hasNextPage"] is False
    used = first["edges"][0]["node"]
    assert used["role"] == "USER"
    assert used["disabled"] is False
    today = used["usage"][-1]
    assert today["prompts"] == 1
    assert today["promptTokens"] > 0
    assert today["completionTokens"] > 0
    assert used["quota"] == {
        "dailyTokens": None,
        "usedToday": today["promptTokens"] + today["completionTokens"],
    }


async def test_malformed_user_ids_and_cursors_are_refused(api: ApiServer) -> None:
    admin = await make_admin(api)
    for bad in ("0", "-1", "abc", "99999999999", "²"):
        error = await api.error(UPDATE, {"id": bad, "d": True}, token=admin.token)
        assert code(error) == "NOT_FOUND", bad
    error = await api.error(USERS, {"a": "not-a-cursor"}, token=admin.token)
    assert code(error) == "BAD_USER_INPUT"
    error = await api.error(UPDATE, {"id": admin.id, "q": -5}, token=admin.token)
    assert error["extensions"]["reason"] == "quota_range"


async def test_admin_changes_role_and_quotas_and_null_returns_to_the_default(
    api: ApiServer,
) -> None:
    admin = await make_admin(api)
    bob = await api.new_user("bob")
    changed = (await api.ok(UPDATE, {"id": bob.id, "q": 500, "m": 9000}, token=admin.token))[
        "updateUser"
    ]
    assert changed["quota"] == {"dailyTokens": 500, "monthlyTokens": 9000}
    # Only the daily quota given, as null: it goes back to the default; the monthly stays.
    changed = (
        await api.ok(
            "mutation($id: ID!) { updateUser(id: $id, dailyTokenQuota: null) { quota { "
            "dailyTokens monthlyTokens } } }",
            {"id": bob.id},
            token=admin.token,
        )
    )["updateUser"]
    assert changed["quota"] == {"dailyTokens": None, "monthlyTokens": 9000}
    promoted = (await api.ok(UPDATE, {"id": bob.id, "r": "ADMIN"}, token=admin.token))["updateUser"]
    assert promoted["role"] == "ADMIN"
    # Bob is an admin at once: he lists users with the token he already had.
    await api.ok(USERS, {"f": 1}, token=bob.token)
    await api.ok(UPDATE, {"id": bob.id, "r": "USER"}, token=admin.token)
    assert code(await api.error(USERS, {"f": 1}, token=bob.token)) == "FORBIDDEN"


async def test_disabled_user_is_refused_at_once_and_cannot_sign_in_until_enabled(
    api: ApiServer,
) -> None:
    admin = await make_admin(api)
    carol = await api.new_user("carol")
    other_session = (await api.ok(LOGIN, {"u": carol.username, "p": PASSWORD}))["login"]["token"]
    disabled = (await api.ok(UPDATE, {"id": carol.id, "d": True}, token=admin.token))["updateUser"]
    assert disabled["disabled"] is True
    for token in (carol.token, other_session):
        error = await api.error(ME, token=token)
        assert code(error) == "UNAUTHENTICATED"
    refused = await api.error(LOGIN, {"u": carol.username, "p": PASSWORD})
    assert code(refused) == "UNAUTHENTICATED"
    assert refused["extensions"]["reason"] == "account_disabled"
    wrong = await api.error(LOGIN, {"u": carol.username, "p": "wrong password!"})
    assert wrong["extensions"]["reason"] == "wrong_credentials"  # says nothing without it
    await api.ok(UPDATE, {"id": carol.id, "d": False}, token=admin.token)
    token = (await api.ok(LOGIN, {"u": carol.username, "p": PASSWORD}))["login"]["token"]
    assert (await api.ok(ME, token=token))["me"]["disabled"] is False
    # The sessions ended by the disabling stay ended.
    assert code(await api.error(ME, token=carol.token)) == "UNAUTHENTICATED"


async def test_disabling_cuts_a_running_subscription_and_saves_the_answer_cancelled(
    api: ApiServer, model: VLLMStandin
) -> None:
    admin = await make_admin(api)
    dave = await api.new_user("dave")
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
    text = ""
    async with GraphQLSocket.connect(api.url, dave.token) as socket:
        async for data in socket.subscribe(PROMPT_STREAM, {"p": "long answer"}):
            text += data["promptStream"]["delta"]
            post_id = data["promptStream"]["post"]["id"]
            if len(text) > 20 and not data["promptStream"]["done"]:
                await api.ok(UPDATE, {"id": dave.id, "d": True}, token=admin.token)
                break
        await asyncio.wait_for(socket._reader, timeout=5)
        assert socket.connection.close_code == 4403
    with api.database:
        post = await Post.get(id=int(post_id))
    assert post.status is PostStatus.CANCELLED
    assert post.body.startswith(text.strip()[:20])
    assert len(post.body) < len(WORDS)


async def test_reset_user_password_shows_a_password_once_and_ends_every_session(
    api: ApiServer,
) -> None:
    admin = await make_admin(api)
    erin = await api.new_user("erin")
    reset = (await api.ok(RESET, {"id": erin.id}, token=admin.token))["resetUserPassword"]
    password = reset["password"]
    assert reset["user"]["username"] == erin.username
    assert len(password) >= 12
    assert code(await api.error(ME, token=erin.token)) == "UNAUTHENTICATED"
    assert code(await api.error(LOGIN, {"u": erin.username, "p": PASSWORD})) == "UNAUTHENTICATED"
    await api.ok(LOGIN, {"u": erin.username, "p": password})
    with api.database:
        entry = await AuditEntry.filter(action="reset_password", target=erin.username).get()
        stored = await User.get(id=int(erin.id))
    assert password not in str(entry.detail)
    assert password not in stored.password_hash
    # A second reset gives another password; the first one stops working.
    again = (await api.ok(RESET, {"id": erin.id}, token=admin.token))["resetUserPassword"]
    assert again["password"] != password
    assert code(await api.error(LOGIN, {"u": erin.username, "p": password})) == "UNAUTHENTICATED"


async def test_audit_log_records_each_action_newest_first_and_has_no_way_to_edit_it(
    own_api: ApiServer,
) -> None:
    api = own_api
    admin = await make_admin(api)
    frank = await api.new_user("frank")
    await api.ok(UPDATE, {"id": frank.id, "q": 100}, token=admin.token)
    await api.ok(UPDATE, {"id": frank.id, "d": True}, token=admin.token)
    await api.ok(RESET, {"id": frank.id}, token=admin.token)
    # A change that changes nothing is not an action.
    await api.ok(UPDATE, {"id": frank.id, "d": True}, token=admin.token)
    page = (await api.ok(AUDIT, {"f": 2}, token=admin.token))["auditLog"]
    rest = (await api.ok(AUDIT, {"f": 10, "a": page["pageInfo"]["endCursor"]}, token=admin.token))[
        "auditLog"
    ]
    entries = [edge["node"] for edge in page["edges"] + rest["edges"]]
    assert [
        (entry["actor"], entry["action"], entry["target"], entry["detail"]) for entry in entries
    ] == [
        (admin.username, "reset_password", frank.username, {}),
        (admin.username, "update_user", frank.username, {"disabled": True}),
        (admin.username, "update_user", frank.username, {"dailyTokenQuota": 100}),
        ("command line", "update_user", admin.username, {"role": "ADMIN"}),
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    mutations = await api.ok("{ __schema { mutationType { fields { name } } } }")
    names = {field["name"] for field in mutations["__schema"]["mutationType"]["fields"]}
    assert not {name for name in names if "audit" in name.lower()}


async def test_last_admin_can_be_neither_demoted_nor_disabled(own_api: ApiServer) -> None:
    api = own_api
    only = await make_admin(api, "only")
    for variables in ({"r": "USER"}, {"d": True}):
        error = await api.error(UPDATE, {"id": only.id, **variables}, token=only.token)
        assert code(error) == "BAD_USER_INPUT"
        assert error["extensions"]["reason"] == "last_admin"
    with api.database:
        with pytest.raises(Exception, match="last administrator"):
            await api.services.admin.set_role_by_name(only.username, Role.USER)
        assert await User.filter(role=Role.ADMIN, disabled_at=None).count() == 1


async def test_a_burst_of_demotions_at_once_leaves_an_admin(own_api: ApiServer) -> None:
    api = own_api
    admins = [await make_admin(api, "burst") for _ in range(4)]
    # Every admin demotes every admin, themselves included, all at once.
    answers = await asyncio.gather(
        *(
            api.gql(UPDATE, {"id": target.id, "r": "USER"}, token=actor.token)
            for actor in admins
            for target in admins
        )
    )
    with api.database:
        left = await User.filter(role=Role.ADMIN, disabled_at=None).count()
    assert left == 1
    refused = [body for body in answers if body.get("errors")]
    assert all(
        body["errors"][0]["extensions"]["reason"] in ("last_admin", "admin_only")
        for body in refused
    )
    # The same with disabling.
    with api.database:
        left_id = (await User.get(role=Role.ADMIN, disabled_at=None)).id
    survivor = next(account for account in admins if account.id == str(left_id))
    others = [await make_admin(api, "burst") for _ in range(3)]
    everyone = [survivor, *others]
    await asyncio.gather(
        *(
            api.gql(UPDATE, {"id": target.id, "d": True}, token=actor.token)
            for actor in everyone
            for target in everyone
        )
    )
    with api.database:
        assert await User.filter(role=Role.ADMIN, disabled_at=None).count() == 1


def run_cli(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphql_api", "users", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": TEST_SECRET},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_command_line_creates_an_admin_and_promotes_and_demotes(
    own_api: ApiServer, own_database_url: str
) -> None:
    api = own_api
    made = await asyncio.to_thread(
        run_cli,
        own_database_url,
        "create",
        "root",
        "--admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert "administrator" in made.stdout
    token = (await api.ok(LOGIN, {"u": "root", "p": PASSWORD}))["login"]["token"]
    assert (await api.ok(ME, token=token))["me"]["role"] == "ADMIN"
    alice = await api.new_user("alice")
    promoted = await asyncio.to_thread(run_cli, own_database_url, "promote", alice.username)
    assert promoted.returncode == 0, promoted.stderr
    assert (await api.ok(ME, token=alice.token))["me"]["role"] == "ADMIN"
    demoted = await asyncio.to_thread(run_cli, own_database_url, "demote", "root")
    assert demoted.returncode == 0, demoted.stderr
    last = await asyncio.to_thread(run_cli, own_database_url, "demote", alice.username)
    assert last.returncode != 0
    assert "last administrator" in last.stderr
    unknown = await asyncio.to_thread(run_cli, own_database_url, "promote", "nobody-here")
    assert unknown.returncode != 0
    assert "no user" in unknown.stderr
    reset = await asyncio.to_thread(
        run_cli,
        own_database_url,
        "reset-password",
        "root",
        "--password-stdin",
        stdin="another long password\n",
    )
    assert reset.returncode == 0, reset.stderr
    log = (await api.ok(AUDIT, {"f": 10}, token=alice.token))["auditLog"]["edges"]
    assert [(e["node"]["actor"], e["node"]["action"], e["node"]["target"]) for e in log] == [
        ("command line", "reset_password", "root"),
        ("command line", "update_user", "root"),
        ("command line", "update_user", alice.username),
        ("command line", "create_user", "root"),
    ]


@pytest.mark.slow
async def test_disabling_on_one_process_cuts_the_user_on_another_sharing_redis(
    api: ApiServer, database_url: str, model: VLLMStandin, gateway: GatewayProcess
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
        grace = await second.new_user("grace")
        other = (await second.ok(LOGIN, {"u": grace.username, "p": PASSWORD}))["login"]["token"]
        model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
        text = ""
        async with GraphQLSocket.connect(second.url, grace.token) as socket:
            async for data in socket.subscribe(PROMPT_STREAM, {"p": "long answer"}):
                text += data["promptStream"]["delta"]
                post_id = data["promptStream"]["post"]["id"]
                if len(text) > 20:
                    await first.ok(UPDATE, {"id": grace.id, "d": True}, token=admin.token)
                    break
            await asyncio.wait_for(socket._reader, timeout=5)
            assert socket.connection.close_code == 4403
        # Her next request, on either process, with either of her sessions.
        for process, token in ((second, grace.token), (second, other), (first, other)):
            error = await process.error(ME, token=token)
            assert code(error) == "UNAUTHENTICATED"
        # The process writing it stops it when it hears, and saves it a moment later.
        post = await saved_post(api, int(post_id))
        assert post.status is PostStatus.CANCELLED
        assert len(post.body) < len(WORDS)


async def test_a_prompt_saved_as_its_user_is_disabled_is_cancelled_before_the_model(
    api: ApiServer, model: VLLMStandin
) -> None:
    """The disabling looks for the user's answers once; one whose post was being saved
    meanwhile checks the account itself before the model is asked."""
    heidi = await api.new_user("heidi")
    with api.database:
        # Disabled in the database only: her session is still valid in this process.
        await User.filter(id=int(heidi.id)).update(disabled_at=datetime.now(UTC))
    asked = len(model.requests)
    post = await api.send_prompt(heidi, "too late")
    assert post["status"] == "CANCELLED"
    assert post["body"] == ""
    assert len(model.requests) == asked


async def test_a_disabled_users_remembered_browser_cannot_sign_in_again(api: ApiServer) -> None:
    admin = await make_admin(api)
    ivan = await api.new_user("ivan")
    async with browser(api) as http:
        await login(http, ivan, remember=True)
        assert (await refresh(http)).status_code == 200
        await api.ok(UPDATE, {"id": ivan.id, "d": True}, token=admin.token)
        refused = await refresh(http)
        assert refused.status_code == 401
        # Enabled again, the cookie stays dead: the disabling ended that sign-in.
        await api.ok(UPDATE, {"id": ivan.id, "d": False}, token=admin.token)
        assert (await refresh(http)).status_code == 401


async def test_a_page_of_users_with_usage_and_quotas_costs_the_same_queries_at_any_size(
    api: ApiServer,
) -> None:
    admin = await make_admin(api)
    tag = os.urandom(3).hex()
    for _ in range(6):
        await api.new_user(f"page{tag}")
    counts = []
    for size in (2, 6):
        with counted_statements() as statements:
            page = (await api.ok(USERS, {"s": f"page{tag}", "f": size}, token=admin.token))["users"]
        assert len(page["edges"]) == size
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


@pytest.mark.slow
async def test_demotions_at_once_on_two_processes_leave_an_admin(
    own_database_url: str, gateway: GatewayProcess
) -> None:
    """The admins' rows are locked by each change, so two processes cannot each remove one of
    the last two (MariaDB; SQLite is for a single process)."""
    if own_database_url.startswith("sqlite"):
        pytest.skip("several API processes share MariaDB, not SQLite")
    env = {"DATABASE_URL": own_database_url, "LLM_GATEWAY_URL": gateway.url}
    async with ApiProcess(**env) as first, ApiProcess(**env) as second:
        both = (first, second)
        survivors: list[Account] = []
        for _ in range(5):
            admins = [await first.new_user("twin") for _ in range(2)]
            for admin in admins:
                done = await asyncio.to_thread(run_cli, own_database_url, "promote", admin.username)
                assert done.returncode == 0, done.stderr
            # The two are the only admins: the one left from the round before steps down.
            for survivor in survivors:
                done = await asyncio.to_thread(
                    run_cli, own_database_url, "demote", survivor.username
                )
                assert done.returncode == 0, done.stderr
            # Each demotes the other, on another process, at the same moment.
            await asyncio.gather(
                *(
                    both[n].gql(
                        UPDATE, {"id": admins[1 - n].id, "r": "USER"}, token=admins[n].token
                    )
                    for n in range(2)
                )
            )
            still = [
                admin
                for admin in admins
                if (await first.gql(USERS, {"f": 1}, token=admin.token)).get("data")
            ]
            assert len(still) == 1
            survivors = still
