"""Single sign-on against a real OpenID provider on loopback (tests/standins/oidc.py), tested
as an attacker would: forged, expired, unsigned or misaddressed ID tokens, replayed codes and
nonces, another browser's callback, and names and addresses chosen to take over an account."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from pydantic import ValidationError

from graphql_api.models import Identity, User
from tests.api.test_app import run_cli
from tests.standins import Forgery, OIDCProviderStandin, Person
from tests.support import (
    PASSWORD,
    ApiServer,
    GatewayProcess,
    free_port,
    make_settings,
    start_api,
)

ME = "{ me { id username } }"
SERVER_INFO = "{ serverInfo { passwordLogin allowSignup singleSignOn { name loginUrl } } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"


@asynccontextmanager
async def api_with_provider(
    database_url: str, gateway: GatewayProcess, provider: OIDCProviderStandin, **settings: Any
) -> AsyncIterator[ApiServer]:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    provider.redirect_uris.add(f"{public_url}/auth/oidc/callback")
    async with start_api(
        port=port,
        database_url=database_url,
        llm_gateway_url=gateway.url,
        public_url=public_url,
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client_id,
        oidc_client_secret=provider.client_secret,
        oidc_name="Standin ID",
        **settings,
    ) as api:
        yield api


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProviderStandin]:
    with OIDCProviderStandin() as standin:
        yield standin


@pytest.fixture(scope="module")
async def sso(
    database_url: str, gateway: GatewayProcess, provider: OIDCProviderStandin
) -> AsyncIterator[ApiServer]:
    async with api_with_provider(database_url, gateway, provider) as api:
        yield api


@pytest.fixture
def person(provider: OIDCProviderStandin) -> Person:
    """A person new to the API, signed in at the provider."""
    name = f"sso-{secrets.token_hex(4)}"
    provider.person = Person(
        sub=f"sub-{secrets.token_hex(8)}", email=f"{name}@example.com", preferred_username=name
    )
    return provider.person


class Browser:
    """A browser, redirect by redirect: its own cookies, nothing followed by itself."""

    def __init__(self, api: ApiServer) -> None:
        self.api = api
        self.http = httpx.AsyncClient(timeout=30, headers={"User-Agent": "SignOnBrowser/1"})

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def start(self) -> str:
        """Press "Log in with …": the provider's authorization URL."""
        reply = await self.http.get(f"{self.api.url}/auth/oidc/login")
        assert reply.status_code == 302, reply.text
        return reply.headers["location"]

    async def at_provider(self, authorization_url: str) -> str:
        """The provider signs the person in: the callback URL it sends the browser to."""
        reply = await self.http.get(authorization_url)
        assert reply.status_code == 302, reply.text
        return reply.headers["location"]

    async def callback(self, url: str) -> dict[str, str]:
        """Follow the provider's redirect back: the page's query it lands on."""
        reply = await self.http.get(url)
        assert reply.status_code == 303, reply.text
        location = urlsplit(reply.headers["location"])
        assert location.path == "/"
        assert not location.netloc  # back to this server, never elsewhere
        return {key: values[0] for key, values in parse_qs(location.query).items()}

    async def sign_in(self) -> dict[str, str]:
        return await self.callback(await self.at_provider(await self.start()))

    async def token(self) -> str | None:
        """What the page does on `?sso=signed-in`: exchange the refresh cookie."""
        reply = await self.http.post(
            f"{self.api.url}/auth/refresh", headers={"X-Chat-Refresh": "1"}
        )
        return str(reply.json()["token"]) if reply.status_code == 200 else None

    def flow_cookie(self) -> str | None:
        return self.http.cookies.get("chat_oidc", path="/auth/oidc")


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def signed_in_user(api: ApiServer, browser: Browser) -> dict[str, Any]:
    token = await browser.token()
    assert token is not None
    me: dict[str, Any] = (await api.ok(ME, token=token))["me"]
    return me


async def identities_of(api: ApiServer, subject: str) -> list[Identity]:
    with api.database:
        return await Identity.filter(subject=subject).all()


async def assert_refused(browser: Browser, landed: dict[str, str], reason: str) -> None:
    assert landed == {"sso_error": reason}
    assert await browser.token() is None
    assert browser.flow_cookie() is None  # the flow is over either way


# -- the flow -------------------------------------------------------------------------------


async def test_the_login_redirect_carries_state_nonce_and_a_pkce_s256_challenge(
    sso: ApiServer, provider: OIDCProviderStandin
) -> None:
    async with Browser(sso) as browser:
        url = await browser.start()
        cookie = next(c for c in browser.http.cookies.jar if c.name == "chat_oidc")
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{provider.url}/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == provider.client_id
    assert query["redirect_uri"] == f"{sso.settings.public_url}/auth/oidc/callback"
    assert query["scope"] == "openid email profile"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 43
    assert len(query["nonce"]) >= 43
    assert "code_verifier" not in query
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.path == "/auth/oidc"
    assert (cookie.get_nonstandard_attr("SameSite") or "").lower() == "lax"


async def test_a_first_sign_in_creates_an_account_and_leaves_the_browser_signed_in(
    sso: ApiServer, provider: OIDCProviderStandin, person: Person
) -> None:
    async with Browser(sso) as browser:
        landed = await browser.sign_in()
        assert landed == {"sso": "signed-in"}
        assert browser.flow_cookie() is None
        me = await signed_in_user(sso, browser)
    assert me["username"] == person.preferred_username
    [identity] = await identities_of(sso, person.sub)
    assert str(identity.user_id) == me["id"]
    assert identity.issuer == provider.issuer
    # The code was exchanged with the verifier whose challenge the provider saw.
    assert provider.token_requests[-1]["code_verifier"]


async def test_the_next_sign_in_finds_the_same_account_by_issuer_and_subject(
    sso: ApiServer, provider: OIDCProviderStandin, person: Person
) -> None:
    async with Browser(sso) as browser:
        await browser.sign_in()
        first = await signed_in_user(sso, browser)
    # The person changed their name and address at the provider: still the same person.
    provider.person = Person(sub=person.sub, email="new@example.org", preferred_username="renamed")
    async with Browser(sso) as browser:
        assert await browser.sign_in() == {"sso": "signed-in"}
        again = await signed_in_user(sso, browser)
    assert again == first
    [identity] = await identities_of(sso, person.sub)
    assert identity.email == "new@example.org"


async def test_a_provider_username_or_email_never_takes_over_an_existing_account(
    sso: ApiServer, provider: OIDCProviderStandin
) -> None:
    """Anyone can call themselves `alice` at some provider, or claim her address there."""
    alice = await sso.new_user("alice")
    provider.person = Person(
        sub=f"attacker-{secrets.token_hex(6)}",
        email=f"{alice.username}@example.com",
        preferred_username=alice.username,
        email_verified=True,
    )
    async with Browser(sso) as browser:
        assert await browser.sign_in() == {"sso": "signed-in"}
        attacker = await signed_in_user(sso, browser)
    assert attacker["id"] != alice.id
    assert attacker["username"] == f"{alice.username}-2"
    # Alice's password still works, and her sessions are untouched.
    reply = await sso.ok(LOGIN, {"u": alice.username, "p": PASSWORD})
    assert (await sso.ok(ME, token=reply["login"]["token"]))["me"]["id"] == alice.id
    assert (await sso.ok(ME, token=alice.token))["me"]["id"] == alice.id


async def test_the_same_subject_at_another_issuer_is_another_person(
    sso: ApiServer, person: Person
) -> None:
    other = await sso.new_user("elsewhere")
    with sso.database:
        await Identity.create(
            user_id=int(other.id), issuer="https://other-provider.example", subject=person.sub
        )
    async with Browser(sso) as browser:
        await browser.sign_in()
        me = await signed_in_user(sso, browser)
    assert me["id"] != other.id


async def test_an_account_made_by_sign_on_has_no_password_anyone_knows(
    sso: ApiServer, person: Person
) -> None:
    async with Browser(sso) as browser:
        await browser.sign_in()
        me = await signed_in_user(sso, browser)
    with sso.database:
        digest = (await User.get(id=int(me["id"]))).password_hash
    assert digest.startswith("$argon2id$")
    error = await sso.error(LOGIN, {"u": me["username"], "p": ""})
    assert error["extensions"]["code"] in {"UNAUTHENTICATED", "BAD_USER_INPUT"}


async def test_first_sign_ins_at_once_make_one_account(sso: ApiServer, person: Person) -> None:
    browsers = [Browser(sso) for _ in range(5)]
    try:
        callbacks = [await browser.at_provider(await browser.start()) for browser in browsers]
        landed = await asyncio.gather(
            *(browser.callback(url) for browser, url in zip(browsers, callbacks, strict=True))
        )
        assert all(page == {"sso": "signed-in"} for page in landed)
        users = {(await signed_in_user(sso, browser))["id"] for browser in browsers}
    finally:
        for browser in browsers:
            await browser.http.aclose()
    assert len(users) == 1
    assert len(await identities_of(sso, person.sub)) == 1


# -- refused flows -----------------------------------------------------------------------


async def test_a_state_that_does_not_match_is_refused_before_the_code_is_exchanged(
    sso: ApiServer, provider: OIDCProviderStandin, person: Person
) -> None:
    async with Browser(sso) as browser:
        callback = await browser.at_provider(await browser.start())
        exchanged = len(provider.token_requests)
        landed = await browser.callback(with_query(callback, state="guessed"))
        await assert_refused(browser, landed, "sso_state_mismatch")
    assert len(provider.token_requests) == exchanged
    assert await identities_of(sso, person.sub) == []


async def test_a_state_of_any_characters_is_refused_not_an_error(
    sso: ApiServer, person: Person
) -> None:
    async with Browser(sso) as browser:
        callback = await browser.at_provider(await browser.start())
        for hostile in ("é", "\u0000", "x" * 5000):
            landed = await browser.callback(with_query(callback, state=hostile))
            assert landed == {"sso_error": "sso_state_mismatch"}
            browser.http.cookies.clear()
            callback = await browser.at_provider(await browser.start())


async def test_an_answer_naming_another_issuer_is_refused(
    sso: ApiServer, provider: OIDCProviderStandin, person: Person
) -> None:
    """RFC 9207's `iss` in the authorization response: a mix-up with another provider."""
    async with Browser(sso) as browser:
        callback = await browser.at_provider(await browser.start())
        exchanged = len(provider.token_requests)
        landed = await browser.callback(with_query(callback, iss="https://evil.example"))
        await assert_refused(browser, landed, "sso_failed")
    assert len(provider.token_requests) == exchanged


async def test_a_missing_state_is_refused(sso: ApiServer, person: Person) -> None:
    async with Browser(sso) as browser:
        callback = await browser.at_provider(await browser.start())
        parts = urlsplit(callback)
        code = parse_qs(parts.query)["code"][0]
        landed = await browser.callback(urlunsplit(parts._replace(query=f"code={code}")))
        await assert_refused(browser, landed, "sso_state_mismatch")


async def test_a_callback_in_another_browser_is_refused(
    sso: ApiServer, provider: OIDCProviderStandin, person: Person
) -> None:
    """Login CSRF: the attacker signs in at the provider as themselves and sends the victim
    the callback link, to have the victim's browser signed in to the attacker's account."""
    async with Browser(sso) as attacker:
        link = await attacker.at_provider(await attacker.start())
    exchanged = len(provider.token_requests)
    async with Browser(sso) as victim:
        landed = await victim.callback(link)
        await assert_refused(victim, landed, "sso_expired")
    assert len(provider.token_requests) == exchanged


async def test_a_forged_flow_cookie_is_refused(sso: ApiServer, person: Person) -> None:
    async with Browser(sso) as browser:
        callback = await browser.at_provider(await browser.start())
        flow = browser.flow_cookie()
        assert flow is not None
        head, payload, _signature = flow.split(".")
        browser.http.cookies.set(
            "chat_oidc", f"{head}.{payload}.AAAA", domain="127.0.0.1", path="/auth/oidc"
        )
        landed = await browser.callback(callback)
        await assert_refused(browser, landed, "sso_expired")


async def test_a_replayed_code_is_refused(
    sso: ApiServer, provider: OIDCProviderStandin, person: Person
) -> None:
    """The whole callback request copied (its URL and the flow cookie) and sent again."""
    async with Browser(sso) as browser:
        callback = await browser.at_provider(await browser.start())
        flow = browser.flow_cookie()
        assert await browser.callback(callback) == {"sso": "signed-in"}
    async with Browser(sso) as thief:
        thief.http.cookies.set("chat_oidc", flow or "", domain="127.0.0.1", path="/auth/oidc")
        landed = await thief.callback(callback)
        await assert_refused(thief, landed, "sso_failed")
    assert provider.token_requests[-1]["code"] == parse_qs(urlsplit(callback).query)["code"][0]


async def test_an_error_from_the_provider_is_refused(sso: ApiServer, person: Person) -> None:
    async with Browser(sso) as browser:
        callback = await browser.at_provider(await browser.start())
        state = parse_qs(urlsplit(callback).query)["state"][0]
        denied = urlunsplit(
            urlsplit(callback)._replace(query=urlencode({"error": "access_denied", "state": state}))
        )
        landed = await browser.callback(denied)
        await assert_refused(browser, landed, "sso_refused")


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param(Forgery(claims={"aud": "another-client"}), id="wrong_audience"),
        pytest.param(Forgery(claims={"aud": ["another-client"]}), id="wrong_audience_list"),
        pytest.param(Forgery(claims={"iss": "https://evil.example"}), id="wrong_issuer"),
        pytest.param(
            Forgery(claims={"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}),
            id="expired",
        ),
        pytest.param(Forgery(remove=("exp",)), id="no_expiry"),
        pytest.param(Forgery(claims={"nonce": "not-the-one-sent"}), id="wrong_nonce"),
        pytest.param(Forgery(remove=("nonce",)), id="missing_nonce"),
        pytest.param(Forgery(signer="none"), id="unsigned_alg_none"),
        pytest.param(Forgery(signer="stranger"), id="signed_by_another_key"),
        pytest.param(Forgery(signer="hs256"), id="hs256_with_the_client_secret"),
        pytest.param(Forgery(claims={"azp": "another-client"}), id="another_authorized_party"),
    ],
)
async def test_an_id_token_that_does_not_verify_is_refused(
    sso: ApiServer, provider: OIDCProviderStandin, person: Person, forgery: Forgery
) -> None:
    provider.forge_next(forgery)
    async with Browser(sso) as browser:
        landed = await browser.sign_in()
        await assert_refused(browser, landed, "sso_failed")
    assert await identities_of(sso, person.sub) == []


async def test_a_replayed_nonce_is_refused(
    sso: ApiServer, provider: OIDCProviderStandin, person: Person
) -> None:
    """An ID token from an earlier sign-in (its nonce) passed off as this one's."""
    async with Browser(sso) as browser:
        assert await browser.sign_in() == {"sso": "signed-in"}
    earlier_nonce = provider.issued[-1]["nonce"]
    provider.forge_next(Forgery(claims={"nonce": earlier_nonce}))
    async with Browser(sso) as browser:
        landed = await browser.sign_in()
        await assert_refused(browser, landed, "sso_failed")


async def test_a_discovery_document_naming_another_issuer_is_refused(
    database_url: str, gateway: GatewayProcess
) -> None:
    with OIDCProviderStandin() as liar:
        liar.issuer_override = "https://someone-else.example"
        async with api_with_provider(database_url, gateway, liar) as api, Browser(api) as browser:
            reply = await browser.http.get(f"{api.url}/auth/oidc/login")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/?sso_error=sso_unavailable"
    assert liar.authorizations == []


async def test_a_provider_that_offers_only_none_or_shared_secrets_is_never_trusted(
    database_url: str, gateway: GatewayProcess
) -> None:
    with OIDCProviderStandin() as weak:
        weak.signing_algorithms = ["none", "HS256"]
        weak.forge_next(Forgery(signer="none"))
        async with api_with_provider(database_url, gateway, weak) as api:
            async with Browser(api) as browser:
                await assert_refused(browser, await browser.sign_in(), "sso_failed")
            weak.forge_next(Forgery(signer="hs256"))
            async with Browser(api) as browser:
                await assert_refused(browser, await browser.sign_in(), "sso_failed")


@pytest.mark.parametrize(
    ("preferred_username", "email", "expected"),
    [
        pytest.param("ab", "carol.jones@example.com", "carol.jones", id="too_short_then_email"),
        pytest.param("Zoë Ünal!", None, "zoe-unal", id="accents_and_spaces"),
        pytest.param(None, None, "user", id="nothing_usable"),
        pytest.param("-_-", "@", "user", id="only_punctuation"),
    ],
)
async def test_a_new_account_is_named_after_what_the_provider_says(
    sso: ApiServer,
    provider: OIDCProviderStandin,
    preferred_username: str | None,
    email: str | None,
    expected: str,
) -> None:
    provider.person = Person(
        sub=f"sub-{secrets.token_hex(8)}",
        email=email,
        preferred_username=preferred_username,
        name=None,
    )
    async with Browser(sso) as browser:
        assert await browser.sign_in() == {"sso": "signed-in"}
        username = (await signed_in_user(sso, browser))["username"]
    assert username == expected or username.startswith(f"{expected}-")


async def test_the_command_line_links_an_existing_account_to_its_provider_identity(
    sso: ApiServer, provider: OIDCProviderStandin, database_url: str, person: Person
) -> None:
    """An organisation adopting single sign-on keeps its people's accounts and history."""
    alice = await sso.new_user("alice")
    linked = await asyncio.to_thread(
        run_cli,
        database_url,
        "users",
        "link-identity",
        alice.username,
        "--subject",
        person.sub,
        "--issuer",
        provider.issuer,
    )
    assert linked.returncode == 0, linked.stderr
    async with Browser(sso) as browser:
        assert await browser.sign_in() == {"sso": "signed-in"}
        assert (await signed_in_user(sso, browser))["id"] == alice.id
    # The same person cannot then be given to another account.
    bob = await sso.new_user("bob")
    stolen = await asyncio.to_thread(
        run_cli,
        database_url,
        "users",
        "link-identity",
        bob.username,
        "--subject",
        person.sub,
        "--issuer",
        provider.issuer,
    )
    assert stolen.returncode != 0
    assert "linked to another account" in stolen.stderr
    [identity] = await identities_of(sso, person.sub)
    assert str(identity.user_id) == alice.id


# -- settings ----------------------------------------------------------------------------


async def test_a_first_sign_in_is_refused_with_a_plain_message_when_signup_is_off(
    database_url: str,
    gateway: GatewayProcess,
    provider: OIDCProviderStandin,
    sso: ApiServer,
    person: Person,
) -> None:
    async with api_with_provider(database_url, gateway, provider, allow_signup=False) as closed:
        async with Browser(closed) as browser:
            landed = await browser.sign_in()
            await assert_refused(browser, landed, "signup_disabled")
        assert await identities_of(closed, person.sub) == []
        # Someone who has an account already still signs in.
        async with Browser(sso) as browser:
            assert await browser.sign_in() == {"sso": "signed-in"}
            known = await signed_in_user(sso, browser)
        async with Browser(closed) as browser:
            assert await browser.sign_in() == {"sso": "signed-in"}
            assert await signed_in_user(closed, browser) == known


async def test_password_login_off_refuses_login_and_register(
    database_url: str, gateway: GatewayProcess, provider: OIDCProviderStandin, sso: ApiServer
) -> None:
    alice = await sso.new_user("alice")
    async with api_with_provider(database_url, gateway, provider, password_login=False) as api:
        info = (await api.ok(SERVER_INFO))["serverInfo"]
        assert info["passwordLogin"] is False
        for mutation, name in ((LOGIN, alice.username), (REGISTER, f"new-{alice.username}")):
            error = await api.error(mutation, {"u": name, "p": PASSWORD})
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert error["extensions"]["reason"] == "password_login_disabled"


async def test_server_info_names_the_provider(sso: ApiServer) -> None:
    info = (await sso.ok(SERVER_INFO))["serverInfo"]
    assert info["passwordLogin"] is True
    assert info["singleSignOn"] == [{"name": "Standin ID", "loginUrl": "/auth/oidc/login"}]


async def test_without_a_provider_there_is_no_single_sign_on(api: ApiServer) -> None:
    assert (await api.ok(SERVER_INFO))["serverInfo"]["singleSignOn"] == []
    for path in ("/auth/oidc/login", "/auth/oidc/callback?code=x&state=y"):
        assert (await api.http.get(path)).status_code == 404


def test_public_url_defaults_to_where_the_api_listens() -> None:
    settings = make_settings(api_host="chat.internal", api_port=8080)
    assert settings.public_url == "http://chat.internal:8080"
    assert settings.oidc_redirect_uri == "http://chat.internal:8080/auth/oidc/callback"
    assert make_settings(public_url="https://chat.example/").oidc_redirect_uri == (
        "https://chat.example/auth/oidc/callback"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"password_login": False}, "PASSWORD_LOGIN=false needs OIDC_ISSUER"),
        ({"oidc_issuer": "https://id.example"}, "OIDC_CLIENT_ID must be set"),
        (
            {"oidc_issuer": "https://id.example", "oidc_client_id": "c", "oidc_scopes": "email"},
            "OIDC_SCOPES must include openid",
        ),
        (
            {"app_env": "production", "oidc_issuer": "http://id.example", "oidc_client_id": "c"},
            "https:// URL in production",
        ),
        ({"oidc_issuer": "id.example"}, "issuer URL"),
        ({"public_url": "chat.example"}, "PUBLIC_URL must be"),
    ],
)
def test_single_sign_on_settings_are_checked_at_start(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        make_settings(**settings)


async def test_a_disabled_account_cannot_sign_in_through_the_provider(
    sso: ApiServer, person: Person
) -> None:
    async with Browser(sso) as browser:
        await browser.sign_in()
        me = await signed_in_user(sso, browser)
    with sso.database:
        await User.filter(id=int(me["id"])).update(disabled_at=datetime.now(UTC))
    async with Browser(sso) as browser:
        await assert_refused(browser, await browser.sign_in(), "account_disabled")
