"""GraphiQL at /graphql: served from the project's own assets, so it works with no internet
and under the API's Content-Security-Policy, with the logged-in user's token prefilled."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Route, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import log_in
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser


async def offline_page(open_page: OpenPage) -> tuple[Page, list[str]]:
    """A page that can reach loopback only; what it tried to fetch elsewhere is listed."""
    page = await open_page(permissions=["clipboard-read", "clipboard-write"])
    outside: list[str] = []

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort("internetdisconnected")

    await page.context.route("**/*", only_loopback)
    return page, outside


async def test_graphiql_loads_and_runs_a_query_with_no_internet(
    open_page: OpenPage, stack: Stack
) -> None:
    page, outside = await offline_page(open_page)
    account = await stack.new_account()
    await log_in(page, account)

    response = await page.goto("/graphql")
    assert response is not None
    assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
    run = page.get_by_role("button", name=re.compile(r"^Execute query"))
    await expect(run).to_be_visible(timeout=20_000)
    await page.get_by_text("Headers", exact=True).click()
    await expect(page.locator(".graphiql-editor-tool")).to_contain_text("Bearer")

    await run.click()
    await expect(page.locator(".graphiql-response")).to_contain_text(account.username)
    assert outside == []


async def replace_operation(page: Page, name: str, text: str) -> None:
    """Paste operation `name` over GraphiQL's editor (typing would auto-close brackets), and
    wait until GraphiQL has taken it in: its tab is named after the operation."""
    await page.evaluate("text => navigator.clipboard.writeText(text)", text)
    await page.locator(".graphiql-query-editor .monaco-editor").first.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Control+V")
    await expect(page.get_by_role("tab", name=name)).to_be_visible()


async def test_graphiql_runs_a_subscription_with_the_token(
    open_page: OpenPage, stack: Stack
) -> None:
    page, outside = await offline_page(open_page)
    account = await stack.new_account()
    await log_in(page, account)
    await page.goto("/graphql")
    run = page.get_by_role("button", name=re.compile(r"^Execute query"))
    await expect(run).to_be_visible(timeout=20_000)
    await replace_operation(
        page,
        "Hello",
        'subscription Hello { promptStream(prompt: "Hello GraphiQL") '
        "{ delta done post { status } } }",
    )
    await run.click()
    response = page.locator(".graphiql-response")
    await expect(response).to_contain_text('"done": true', timeout=15_000)
    await expect(response).to_contain_text("COMPLETE")
    assert outside == []
