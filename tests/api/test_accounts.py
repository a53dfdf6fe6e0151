"""Accounts: sign-up, login, throttling, logout and tokens."""

from __future__ import annotations

import statistics
import time

import jwt
import pytest

from graphql_api.settings import Settings
from tests.support import PASSWORD, TEST_SECRET, ApiServer, start_api

ME = "query { me { id username } }"
LOGIN = (
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
    "{ token expiresAt user { username } } }"
)
REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"


async def test_register_returns_a_token_that_identifies_the_user(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    data = await api.ok(ME, token=alice.token)
    assert data["me"] == {"id": alice.id, "username": alice.username}


async def test_usernames_are_unique_regardless_of_case(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    error = await api.error(REGISTER, {"u": alice.username.upper(), "p": PASSWORD})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "taken" in error["message"]


@pytest.mark.parametrize(
    ("username", "password"),
    [("ab", PASSWORD), ("has space", PASSWORD), ("x" * 65, PASSWORD), ("valid-name", "short")],
)
async def test_register_rejects_bad_usernames_and_short_passwords(
    api: ApiServer, username: str, password: str
) -> None:
    error = await api.error(REGISTER, {"u": username, "p": password})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_register_is_refused_when_signup_is_disabled(database_url: str, llm: object) -> None:
    async with start_api(database_url=database_url, allow_signup=False) as closed:
        error = await closed.error(REGISTER, {"u": "newcomer", "p": PASSWORD})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "sign-up is disabled" in error["message"]
        info = await closed.ok("{ serverInfo { allowSignup } }")
        assert info["serverInfo"]["allowSignup"] is False


async def test_password_is_stored_as_an_argon2id_hash(api: ApiServer) -> None:
    from graphql_api.models import User

    alice = await api.new_user("alice")
    with api.database:
        stored = await User.get(id=int(alice.id))
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


async def test_login_with_the_right_password_returns_a_working_token(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    data = await api.ok(LOGIN, {"u": alice.username, "p": PASSWORD})
    assert data["login"]["user"]["username"] == alice.username
    me = await api.ok(ME, token=data["login"]["token"])
    assert me["me"]["username"] == alice.username


async def test_wrong_password_and_unknown_user_get_the_same_answer(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    wrong = await api.error(LOGIN, {"u": alice.username, "p": "not the password"})
    unknown = await api.error(LOGIN, {"u": "nobody-" + alice.username, "p": "not the password"})
    assert wrong["extensions"]["code"] == unknown["extensions"]["code"] == "UNAUTHENTICATED"
    assert wrong["message"] == unknown["message"]


async def test_unknown_user_takes_as_long_to_reject_as_a_wrong_password(api: ApiServer) -> None:
    """Without a hash check for unknown names, they would answer ~50x faster."""
    durations: dict[str, list[float]] = {"wrong": [], "unknown": []}
    for _ in range(5):
        # A fresh account each time, so throttling delays do not count.
        account = await api.new_user("timing")
        for kind, name in (("wrong", account.username), ("unknown", "ghost-" + account.username)):
            started = time.perf_counter()
            await api.error(LOGIN, {"u": name, "p": "not the password"})
            durations[kind].append(time.perf_counter() - started)
    ratio = statistics.median(durations["unknown"]) / statistics.median(durations["wrong"])
    assert ratio > 0.5, durations


async def test_repeated_failed_logins_are_slowed_then_rate_limited(database_url: str) -> None:
    async with start_api(database_url=database_url, login_max_failures=3) as api:
        alice = await api.new_user("alice")
        times = []
        for _ in range(3):
            started = time.perf_counter()
            error = await api.error(LOGIN, {"u": alice.username, "p": "wrong password"})
            times.append(time.perf_counter() - started)
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
        # The third failure waited for the throttle's delay (0.5 s) on top of the hash check.
        assert times[2] >= 0.5
        limited = await api.error(LOGIN, {"u": alice.username, "p": PASSWORD})
        assert limited["extensions"]["code"] == "RATE_LIMITED"
        assert limited["extensions"]["retryAfter"] >= 1
        # Another account is not affected.
        bob = await api.new_user("bob")
        await api.ok(LOGIN, {"u": bob.username, "p": PASSWORD})


async def test_logout_makes_the_token_stop_working_at_once(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    other_session = (await api.ok(LOGIN, {"u": alice.username, "p": PASSWORD}))["login"]["token"]
    assert (await api.ok("mutation { logout }", token=alice.token)) == {"logout": True}
    error = await api.error(ME, token=alice.token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    # Only that session ended.
    assert (await api.ok(ME, token=other_session))["me"]["username"] == alice.username


def _claims(user_id: str, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": user_id, "jti": "a" * 32, "iat": now, "exp": now + 600, **overrides}


async def test_forged_token_is_refused(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    forged = jwt.encode(_claims(alice.id), "another-secret-" + "y" * 40, algorithm="HS256")
    error = await api.error(ME, token=forged)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_expired_token_is_refused(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    past = int(time.time()) - 3600
    expired = jwt.encode(_claims(alice.id, iat=past - 60, exp=past), TEST_SECRET, algorithm="HS256")
    error = await api.error(ME, token=expired)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_alg_none_token_is_refused(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    unsigned = jwt.encode(_claims(alice.id), None, algorithm="none")  # type: ignore[arg-type]
    error = await api.error(ME, token=unsigned)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_token_signed_with_another_algorithm_is_refused(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    other = jwt.encode(_claims(alice.id), TEST_SECRET * 2, algorithm="HS512")
    error = await api.error(ME, token=other)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_token_missing_a_required_claim_is_refused(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    claims = _claims(alice.id)
    del claims["jti"]
    error = await api.error(ME, token=jwt.encode(claims, TEST_SECRET, algorithm="HS256"))
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_token_carries_the_required_claims(api: ApiServer) -> None:
    alice = await api.new_user("alice")
    header = jwt.get_unverified_header(alice.token)
    claims = jwt.decode(alice.token, TEST_SECRET, algorithms=["HS256"])
    assert header["alg"] == "HS256"
    assert set(claims) >= {"sub", "jti", "iat", "exp"}
    assert claims["sub"] == alice.id


async def test_me_without_a_token_is_unauthenticated(api: ApiServer) -> None:
    error = await api.error(ME)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("secret", ["", "too-short"])
def test_production_refuses_a_missing_or_short_jwt_secret(secret: str) -> None:
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(app_env="production", jwt_secret=secret)


def test_production_accepts_a_long_secret_and_turns_graphiql_off() -> None:
    settings = Settings(app_env="production", jwt_secret="s" * 32)
    assert not settings.graphiql_enabled
