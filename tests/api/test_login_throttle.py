"""The login throttle holds against what an attacker sends: bursts, look-alike names, floods."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from graphql_api.models import User
from tests.conftest import MariaDBDatabase
from tests.support import PASSWORD, ApiServer, start_api

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"


def codes(bodies: list[dict[str, Any]]) -> Counter[str]:
    return Counter(
        body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK" for body in bodies
    )


async def test_a_burst_of_guesses_gets_what_the_same_guesses_get_one_by_one(
    database_url: str,
) -> None:
    """60 logins sent at once, 59 wrong and the right one last: only as many guesses are
    checked as the limit allows, and the right password, arriving past it, is refused."""
    async with start_api(database_url=database_url, login_max_failures=5) as api:
        alice = await api.new_user("alice")
        guesses = [f"wrong guess {number}" for number in range(59)] + [PASSWORD]
        bodies = await asyncio.gather(
            *(api.gql(LOGIN, {"u": alice.username, "p": guess}) for guess in guesses)
        )
        assert codes(bodies) == {"UNAUTHENTICATED": 5, "RATE_LIMITED": 55}
        assert bodies[-1]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_burst_from_one_address_is_limited_across_accounts(database_url: str) -> None:
    async with start_api(
        database_url=database_url, login_max_failures=100, login_max_failures_per_address=4
    ) as api:
        users = [await api.new_user(f"victim{number}") for number in range(3)]
        bodies = await asyncio.gather(
            *(
                api.gql(LOGIN, {"u": users[number % 3].username, "p": f"guess {number}"})
                for number in range(30)
            )
        )
        assert codes(bodies) == {"UNAUTHENTICATED": 4, "RATE_LIMITED": 26}


async def test_successful_logins_do_not_use_up_the_addresss_budget(database_url: str) -> None:
    async with start_api(database_url=database_url, login_max_failures_per_address=3) as api:
        alice = await api.new_user("alice")
        for _ in range(6):
            await api.ok(LOGIN, {"u": alice.username, "p": PASSWORD})


async def test_accent_variants_of_a_username_do_not_log_in(api: ApiServer) -> None:
    """MariaDB's default collation ignores accents: `àlice` would find `alice`, and each
    variant would get a failure budget of its own against her password."""
    alice = await api.new_user("alice")
    name = alice.username
    dotless_i = "\u0131"
    variants = [name.replace("a", "à", 1), name.replace("e", "é", 1), name.replace("i", dotless_i)]
    for variant in variants:
        error = await api.error(LOGIN, {"u": variant, "p": PASSWORD})
        assert error["extensions"]["code"] == "UNAUTHENTICATED", variant
        assert error["message"] == "wrong username or password"


@pytest.fixture
def mariadb_url(database_url: str) -> str:
    if not database_url.startswith("mysql://"):
        pytest.skip("about MariaDB's collations")
    return database_url


async def test_usernames_compare_exactly_on_mariadb(mariadb_url: str) -> None:
    """Names are normalized before they are stored; the column compares them byte for byte."""
    with MariaDBDatabase() as database:
        async with start_api(database_url=database.url) as api:
            await api.ok(REGISTER, {"u": "alice", "p": PASSWORD})
            with database.admin(database.name) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM users WHERE username = 'alicé'")
                assert cursor.fetchone() == (0,)
                cursor.execute("SELECT COUNT(*) FROM users WHERE username = 'ALICE'")
                assert cursor.fetchone() == (0,)


async def test_registrations_from_one_address_are_throttled(database_url: str) -> None:
    async with start_api(database_url=database_url, signups_per_hour_per_address=3) as api:
        bodies = await asyncio.gather(
            *(api.gql(REGISTER, {"u": f"flood{number}", "p": PASSWORD}) for number in range(10))
        )
        assert codes(bodies) == {"OK": 3, "RATE_LIMITED": 7}
        limited = next(body for body in bodies if body.get("errors"))
        assert limited["errors"][0]["extensions"]["retryAfter"] > 60


async def test_a_full_password_hashing_queue_answers_at_once(database_url: str) -> None:
    """A flood of sign-ups and logins must not make every login wait minutes behind it."""
    async with start_api(
        database_url=database_url,
        password_hash_queue=2,
        login_max_failures=1000,
        login_max_failures_per_address=1000,
    ) as api:
        alice = await api.new_user("alice")
        bodies = await asyncio.gather(
            *(api.gql(LOGIN, {"u": alice.username, "p": f"guess {n}"}) for n in range(40))
        )
        counted = codes(bodies)
        assert counted["RATE_LIMITED"] > 0, counted
        busy = next(
            body["errors"][0]
            for body in bodies
            if body.get("errors") and body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        )
        assert "busy" in busy["message"]


async def test_passwords_are_rehashed_at_login_when_the_parameters_change(
    database_url: str,
) -> None:
    async with start_api(database_url=database_url, password_hash_time_cost=2) as api:
        account = await api.new_user("rehash")
        with api.database:
            assert ",t=2," in (await User.get(username=account.username)).password_hash
    async with start_api(database_url=database_url, password_hash_time_cost=3) as api:
        await api.ok(LOGIN, {"u": account.username, "p": PASSWORD})
        with api.database:
            assert ",t=3," in (await User.get(username=account.username)).password_hash
        await api.ok(LOGIN, {"u": account.username, "p": PASSWORD})
