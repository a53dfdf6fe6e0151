"""An empty chat's starter suggestions, skeletons while loading, and the tab's title."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, Route, expect

from tests.e2e.pages import answers, composer, log_in, send
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser


async def test_empty_chat_offers_starter_suggestions(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    starters = page.get_by_role("list", name="Ideas to start with").get_by_role("button")
    await expect(starters).to_have_count(4)
    await starters.filter(has_text="three-day trip").click()
    await expect(composer(page)).to_have_value("Help me plan a three-day trip to Lisbon.")
    await expect(composer(page)).to_be_focused()
    await composer(page).press("Enter")
    await expect(answers(page).last).to_have_text("Echo: Help me plan a three-day trip to Lisbon.")
    await expect(page.get_by_role("list", name="Ideas to start with")).to_have_count(0)


async def test_tab_title_shows_the_conversation_title(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await stack.new_conversation(account, "Garden plans")
    await log_in(page, account)
    await expect(page).to_have_title("Chat")
    await page.get_by_role("link", name="Garden plans").click()
    await expect(page).to_have_title("Garden plans · Chat")
    await send(page, "Hello")
    await page.get_by_role("button", name="New chat").first.click()
    await expect(page).to_have_title("Chat")


async def test_skeletons_show_while_a_conversation_loads(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    account = await stack.new_account()
    conversation_id = await stack.new_conversation(account, "Slow to load")
    release = asyncio.Event()

    async def hold_posts(route: Route) -> None:
        if "PostsBefore" in (route.request.post_data or ""):
            await release.wait()
        await route.continue_()

    await log_in(page, account)
    await page.route("**/graphql", hold_posts)
    await page.goto(f"/#/c/{conversation_id}")
    skeleton = page.locator("chat-view .skeleton")
    await expect(skeleton).to_be_visible()
    # "Loading…" is for screen readers only: the page shows the shape of what is coming.
    status = page.locator("chat-view .placeholder [role=status]")
    await expect(status).to_have_text("Loading…")
    await expect(status).to_have_class("visually-hidden")
    await page.screenshot(path=artifacts / "skeleton.png")
    release.set()
    await expect(skeleton).to_have_count(0)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Slow to load")
