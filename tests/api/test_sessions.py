"""Staying signed in, seeing one's sessions, ending them, changing the password."""

from __future__ import annotations

import asyncio

import httpx

from tests.support import PASSWORD, Account, ApiServer, GraphQLSocket

LOGIN = (
    "mutation($u: String!, $p: String!, $r: Boolean!) { login(username: $u, password: $p, "
    "remember: $r) { token expiresAt } }"
)
ME = "{ me { username } }"
SESSIONS = "{ sessions { id current remembered userAgent } }"
CHANGE = (
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"
)


def browser(api: ApiServer) -> httpx.AsyncClient:
    """A client keeping cookies, as a browser does (one per "browser")."""
    return httpx.AsyncClient(base_url=api.url, timeout=30, headers={"User-Agent": "TestBrowser/1"})


async def login(http: httpx.AsyncClient, account: Account, remember: bool) -> str:
    reply = await http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"u": account.username, "p": PASSWORD, "r": remember}},
    )
    return str(reply.json()["data"]["login"]["token"])


async def refresh(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post("/auth/refresh", headers={"X-Chat-Refresh": "1"})


async def test_a_remembered_browser_gets_a_new_token_from_its_cookie(api: ApiServer) -> None:
    alice = await api.new_user()
    async with browser(api) as http:
        await login(http, alice, remember=True)
        cookie = next(iter(http.cookies.jar))
        assert cookie.name == "chat_refresh"
        assert cookie.has_nonstandard_attr("HttpOnly")
        assert cookie.path == "/auth"
        renewed = await refresh(http)
        assert renewed.status_code == 200
        token = renewed.json()["token"]
        assert renewed.json()["user"]["username"] == alice.username
    assert (await api.ok(ME, token=token))["me"]["username"] == alice.username


async def test_a_browser_not_remembered_has_no_cookie(api: ApiServer) -> None:
    alice = await api.new_user()
    async with browser(api) as http:
        await login(http, alice, remember=False)
        assert not http.cookies
        assert (await refresh(http)).status_code == 401


async def test_the_refresh_needs_its_header(api: ApiServer) -> None:
    alice = await api.new_user()
    async with browser(api) as http:
        await login(http, alice, remember=True)
        assert (await http.post("/auth/refresh")).status_code == 403


async def test_a_refresh_secret_used_twice_ends_the_whole_sign_in(api: ApiServer) -> None:
    """A copy of the cookie replayed after the browser exchanged it: someone else holds it."""
    alice = await api.new_user()
    async with browser(api) as http:
        await login(http, alice, remember=True)
        stolen = http.cookies.get("chat_refresh", path="/auth")
        first = (await refresh(http)).json()["token"]
        async with browser(api) as thief:
            thief.cookies.set("chat_refresh", stolen or "", path="/auth")
            assert (await refresh(thief)).status_code == 401
        # The browser's own newer cookie and its token are dead too.
        assert (await refresh(http)).status_code == 401
    error = await api.error(ME, token=first)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_logout_ends_staying_signed_in(api: ApiServer) -> None:
    alice = await api.new_user()
    async with browser(api) as http:
        token = await login(http, alice, remember=True)
        secret = http.cookies.get("chat_refresh", path="/auth")
        assert secret
        await http.post(
            "/graphql",
            json={"query": "mutation { logout }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert not http.cookies.get("chat_refresh", path="/auth")
    async with browser(api) as other:  # a copy of the cookie kept from before the logout
        other.cookies.set("chat_refresh", secret, path="/auth")
        assert (await refresh(other)).status_code == 401


async def test_sessions_are_listed_and_one_can_be_ended(api: ApiServer) -> None:
    alice = await api.new_user()
    async with browser(api) as http:
        remembered = await login(http, alice, remember=True)
    listed = (await api.ok(SESSIONS, token=alice.token))["sessions"]
    assert len(listed) == 2
    current = next(session for session in listed if session["current"])
    other = next(session for session in listed if not session["current"])
    assert not current["remembered"]
    assert other["remembered"]
    assert other["userAgent"] == "TestBrowser/1"
    async with GraphQLSocket.connect(api.url, remembered) as socket:
        await api.ok("mutation($id: ID!) { endSession(id: $id) }", {"id": other["id"]}, alice.token)
        for _ in range(100):
            if socket.connection.close_code is not None:
                break
            await asyncio.sleep(0.05)
        assert socket.connection.close_code == 4403
    assert (await api.error(ME, token=remembered))["extensions"]["code"] == "UNAUTHENTICATED"
    assert len((await api.ok(SESSIONS, token=alice.token))["sessions"]) == 1


async def test_another_users_session_cannot_be_ended(api: ApiServer) -> None:
    alice, mallory = await api.new_user("alice"), await api.new_user("mallory")
    alices = (await api.ok(SESSIONS, token=alice.token))["sessions"][0]["id"]
    error = await api.error(
        "mutation($id: ID!) { endSession(id: $id) }", {"id": alices}, mallory.token
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert (await api.ok(ME, token=alice.token))["me"]["username"] == alice.username


async def test_changing_the_password_ends_every_other_session(api: ApiServer) -> None:
    alice = await api.new_user()
    async with browser(api) as http:
        other = await login(http, alice, remember=True)
        new_password = "an entirely new password"
        wrong = await api.error(CHANGE, {"c": "not it", "n": new_password}, token=alice.token)
        assert wrong["extensions"]["code"] == "BAD_USER_INPUT"
        assert await api.ok(CHANGE, {"c": PASSWORD, "n": new_password}, token=alice.token)
        assert (await api.ok(ME, token=alice.token))["me"]["username"] == alice.username
        assert (await api.error(ME, token=other))["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await refresh(http)).status_code == 401
    relogin = await api.gql(LOGIN, {"u": alice.username, "p": new_password, "r": False})
    assert relogin["data"]["login"]["token"]
