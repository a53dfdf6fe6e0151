"""Logging in through single sign-on in a real browser, against the OpenID provider stand-in
(tests/standins/oidc.py), on a server that takes no passwords (PASSWORD_LOGIN=false)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import composer
from tests.e2e.stack import Stack, start_stack
from tests.standins import OIDCProviderStandin, Person, VLLMStandin
from tests.support import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BUTTON = "Log in with Standin ID"


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProviderStandin]:
    with OIDCProviderStandin() as standin:
        yield standin


@pytest.fixture(scope="module")
async def sso_stack(
    llm: VLLMStandin, provider: OIDCProviderStandin, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    provider.redirect_uris.add(f"{public_url}/auth/oidc/callback")
    stack, processes = start_stack(
        tmp_path_factory.mktemp("sso"),
        llm,
        api_port=port,
        PUBLIC_URL=public_url,
        PASSWORD_LOGIN="false",
        OIDC_ISSUER=provider.issuer,
        OIDC_CLIENT_ID=provider.client_id,
        OIDC_CLIENT_SECRET=provider.client_secret,
        OIDC_NAME="Standin ID",
    )
    yield stack
    await stack.http.aclose()
    for process in reversed(processes):
        process.stop()


async def test_the_browser_logs_in_through_the_provider(
    open_page: OpenPage, sso_stack: Stack, provider: OIDCProviderStandin
) -> None:
    name = f"ana-{secrets.token_hex(3)}"
    provider.person = Person(
        sub=f"sub-{name}", email=f"{name}@example.com", preferred_username=name
    )
    page = await open_page(base_url=sso_stack.url)
    await page.goto("/")
    await expect(page.get_by_label("Username")).to_be_hidden()  # no passwords on this server
    await page.get_by_role("link", name=BUTTON).click()
    await expect(composer(page)).to_be_visible()
    await expect(page.get_by_role("navigation")).to_contain_text(name)
    assert "sso" not in page.url  # the result is taken out of the address
    assert len(provider.authorizations) >= 1
    # Staying signed in as after a kept password login: a reload keeps the session.
    await page.reload()
    await expect(composer(page)).to_be_visible()


async def test_a_refused_sign_in_is_explained_on_the_login_page(
    open_page: OpenPage, sso_stack: Stack
) -> None:
    page = await open_page(base_url=sso_stack.url)
    await page.goto("/?sso_error=signup_disabled")
    await expect(page.locator("login-view").get_by_role("status")).to_contain_text(
        "no account for you here"
    )
    await expect(page.get_by_role("link", name=BUTTON)).to_be_visible()
    assert page.url.rstrip("/") == sso_stack.url


async def test_the_sign_on_button_fits_a_phone(open_page: OpenPage, sso_stack: Stack) -> None:
    page = await open_page(base_url=sso_stack.url, viewport={"width": 360, "height": 740})
    await page.goto("/")
    button = page.get_by_role("link", name=BUTTON)
    await expect(button).to_be_visible()
    box = await button.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 360
    assert box["height"] >= 44  # a thumb's target
    await button.focus()
    await expect(button).to_be_focused()
