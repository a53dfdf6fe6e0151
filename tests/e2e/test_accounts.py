"""Sign-up, login, logout and what happens to the session token in the browser."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import composer, log_in, numbered_tokens, send, wait_for_text
from tests.e2e.stack import PASSWORD, Stack, start_stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser

SESSION_KEY = "chat.session"


async def test_sign_up_logs_the_new_user_in(page: Page, stack: Stack) -> None:
    username = f"newcomer-{secrets.token_hex(3)}"
    await page.goto("/")
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(composer(page)).to_be_visible()
    await expect(page.get_by_role("navigation")).to_contain_text(username)


async def test_log_in_with_a_wrong_password_says_so(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await page.goto("/")
    await page.get_by_label("Username").fill(account.username)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await expect(page.get_by_label("Password")).to_be_focused()


async def test_token_is_kept_in_session_storage_never_local_storage(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    token = await page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}')).token")
    assert token.count(".") == 2  # a JWT
    local_values = await page.evaluate("Object.values(localStorage).join('\\n')")
    assert token not in local_values


async def test_reload_keeps_the_user_logged_in(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await page.reload()
    await expect(composer(page)).to_be_visible()


async def test_log_out_forgets_the_token_and_the_server_refuses_it(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    token = await page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}')).token")
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert await page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')") is None
    response = await stack.http.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await page.reload()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()


async def test_expired_token_returns_to_login_and_keeps_the_draft(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    token = await page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}')).token")
    await composer(page).fill("A long prompt I do not want to type again")
    # The token stops working behind the page's back (as when it expires on the server).
    await stack.gql("mutation { logout }", token=token)
    await composer(page).press("Enter")
    await expect(page.get_by_text("Your session expired")).to_be_visible()
    await expect(page.get_by_label("Username")).to_have_value(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(composer(page)).to_have_value("A long prompt I do not want to type again")


async def test_refused_websocket_token_returns_to_login_and_keeps_the_draft(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    """The session ends while an answer streams over the WebSocket: the API closes the socket
    (4403), and the page goes back to the login with the draft typed meanwhile kept."""
    account = await stack.new_account()
    await log_in(page, account)
    token = await page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}')).token")
    closes: list[int] = []
    page.on("websocket", lambda socket: socket.on("close", lambda _: closes.append(1)))
    model.queue_behaviour(Behaviour(tokens=numbered_tokens(400), token_delay=0.05))
    await send(page, "Keep talking")
    await wait_for_text(page, lambda text: "t5" in text)
    await composer(page).fill("Typed while the answer streams")
    await stack.gql("mutation { logout }", token=token)
    await expect(page.get_by_text("Your session expired")).to_be_visible()
    assert closes, "the page never saw its socket closed"
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(composer(page)).to_have_value("Typed while the answer streams")


@pytest.fixture(scope="module")
async def closed_stack(
    llm: VLLMStandin, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A second API process, started with ALLOW_SIGNUP=false."""
    stack, processes = start_stack(tmp_path_factory.mktemp("closed"), llm, ALLOW_SIGNUP="false")
    yield stack
    await stack.http.aclose()
    for process in reversed(processes):
        process.stop()


@pytest.mark.slow
async def test_sign_up_is_hidden_when_the_server_disables_it(
    open_page: OpenPage, closed_stack: Stack, artifacts: Path
) -> None:
    page = await open_page(base_url=closed_stack.url)
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    await expect(page.get_by_role("button", name="Sign up")).to_have_count(0)
