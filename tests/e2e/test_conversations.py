"""The sidebar: the conversation list, paging, search, rename, delete and "new chat"."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.pages import composer, log_in, sidebar_links
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser


async def test_sidebar_lists_conversations_newest_first(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    for title in ("Oldest", "Middle", "Newest"):
        await stack.new_conversation(account, title)
    await log_in(page, account)
    await expect(sidebar_links(page)).to_have_text(["Newest", "Middle", "Oldest"])


async def test_sidebar_loads_more_conversations_as_it_scrolls(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    for number in range(45):
        await stack.new_conversation(account, f"Conversation {number:02d}")
    await log_in(page, account)
    await expect(sidebar_links(page)).to_have_count(20)
    for expected in (40, 45):
        await sidebar_links(page).last.scroll_into_view_if_needed()
        await expect(sidebar_links(page)).to_have_count(expected)
    await expect(sidebar_links(page).last).to_have_text("Conversation 00")


async def test_sidebar_search_finds_conversations_by_title(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    for title in ("Trip to Lisbon", "Tax return", "Lisbon restaurants"):
        await stack.new_conversation(account, title)
    await log_in(page, account)
    await expect(sidebar_links(page)).to_have_count(3)
    await page.get_by_role("searchbox", name="Search conversations").fill("lisbon")
    await expect(sidebar_links(page)).to_have_text(["Lisbon restaurants", "Trip to Lisbon"])
    await page.get_by_role("searchbox", name="Search conversations").fill("nothing like this")
    await expect(page.get_by_text("No conversation matches.")).to_be_visible()


async def test_rename_conversation(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await stack.new_conversation(account, "Untitled idea")
    await log_in(page, account)
    await page.get_by_role("button", name="Rename “Untitled idea”").click()
    title = page.get_by_role("textbox", name="New title")
    await expect(title).to_be_focused()
    await title.fill("Garden plans")
    await title.press("Enter")
    await expect(sidebar_links(page)).to_have_text(["Garden plans"])
    await page.reload()
    await expect(sidebar_links(page)).to_have_text(["Garden plans"])


async def test_renaming_the_open_conversation_updates_its_heading(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await stack.send_prompt(account, "First idea")
    await log_in(page, account)
    await sidebar_links(page).first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("First idea")
    await page.get_by_role("button", name="Rename “First idea”").click()
    await page.get_by_role("textbox", name="New title").fill("Better idea")
    await page.get_by_role("textbox", name="New title").press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Better idea")


async def test_rename_is_cancelled_by_escape(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await stack.new_conversation(account, "Keep this name")
    await log_in(page, account)
    await page.get_by_role("button", name="Rename “Keep this name”").click()
    await page.get_by_role("textbox", name="New title").fill("Something else")
    await page.keyboard.press("Escape")
    await expect(sidebar_links(page)).to_have_text(["Keep this name"])
    await expect(page.get_by_role("button", name="Rename “Keep this name”")).to_be_focused()


async def test_delete_conversation_asks_for_confirmation(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await stack.new_conversation(account, "Keep me")
    await stack.new_conversation(account, "Throw me away")
    await log_in(page, account)
    await page.get_by_role("button", name="Delete “Throw me away”").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Delete “Throw me away”?")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(sidebar_links(page)).to_have_text(["Throw me away", "Keep me"])

    await page.get_by_role("button", name="Delete “Throw me away”").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(sidebar_links(page)).to_have_text(["Keep me"])
    await page.reload()
    await expect(sidebar_links(page)).to_have_text(["Keep me"])


async def test_deleting_the_open_conversation_goes_to_a_new_chat(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    post = await stack.send_prompt(account, "Something to forget")
    await log_in(page, account)
    await sidebar_links(page).first.click()
    await expect(page.get_by_text("Echo: Something to forget")).to_be_visible()
    await page.get_by_role("button", name="Delete “Something to forget”").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("heading", name="New chat")).to_be_visible()
    await page.goto(f"/#/c/{post['conversationId']}")
    await expect(
        page.get_by_text("This conversation does not exist or was deleted.")
    ).to_be_visible()


async def test_new_chat_button_starts_an_empty_chat(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await stack.send_prompt(account, "An earlier question")
    await log_in(page, account)
    await sidebar_links(page).first.click()
    await expect(page.get_by_text("Echo: An earlier question")).to_be_visible()
    await page.get_by_role("button", name="New chat").click()
    await expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()
    await expect(composer(page)).to_be_focused()
    await expect(page.get_by_role("link", name="An earlier question")).not_to_have_attribute(
        "aria-current", "page"
    )
