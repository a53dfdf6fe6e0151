"""The sidebar that scales: date sections, pinning, whole titles, collapsing on a desktop,
and the phone drawer's close button."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import composer, log_in, sidebar_links
from tests.e2e.stack import Account, Stack

pytestmark = pytest.mark.browser


def set_last_activity(stack: Stack, conversation_id: str, when: datetime) -> None:
    """Move a conversation's last activity into the past, in the API's own database."""
    path = stack.api.env["DATABASE_URL"].removeprefix("sqlite://")
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE conversation SET updated_at = ? WHERE id = ?",
            (when.isoformat(sep=" "), int(conversation_id)),
        )


async def seed_dated(stack: Stack, account: Account) -> datetime:
    now = datetime.now(UTC)
    for title, days in (("Old talk", 60), ("Last week talk", 4), ("Yesterday talk", 1)):
        conversation_id = await stack.new_conversation(account, title)
        set_last_activity(stack, conversation_id, now - timedelta(days=days))
    await stack.new_conversation(account, "Today talk")
    return now


def section(page: Page, name: str) -> Locator:
    return page.get_by_role("list", name=name, exact=True).get_by_role("link")


async def test_sidebar_groups_conversations_by_date(open_page: OpenPage, stack: Stack) -> None:
    account = await stack.new_account()
    now = await seed_dated(stack, account)
    page = await open_page(timezone_id="UTC", locale="en-US")
    await log_in(page, account)
    month = (now - timedelta(days=60)).strftime("%B %Y")
    await expect(page.locator("conversation-list h3")).to_have_text(
        ["Today", "Yesterday", "Previous 7 days", month]
    )
    await expect(section(page, "Today")).to_have_text(["Today talk"])
    await expect(section(page, "Yesterday")).to_have_text(["Yesterday talk"])
    await expect(section(page, "Previous 7 days")).to_have_text(["Last week talk"])
    await expect(section(page, month)).to_have_text(["Old talk"])


async def test_sidebar_date_groups_are_in_portuguese(open_page: OpenPage, stack: Stack) -> None:
    account = await stack.new_account()
    await seed_dated(stack, account)
    page = await open_page(timezone_id="UTC", locale="pt-BR")
    await page.goto("/")
    await page.get_by_label("Usuário").fill(account.username)
    await page.get_by_label("Senha").fill(account.password)
    await page.keyboard.press("Enter")
    await expect(page.locator("conversation-list h3").first).to_have_text("Hoje")
    await expect(page.locator("conversation-list h3").nth(2)).to_have_text("Últimos 7 dias")


async def test_pinning_puts_a_conversation_at_the_top_and_survives_a_reload(
    open_page: OpenPage, stack: Stack
) -> None:
    account = await stack.new_account()
    await seed_dated(stack, account)
    page = await open_page(timezone_id="UTC")
    await log_in(page, account)
    await page.get_by_role("button", name="Pin “Old talk”").click()
    await expect(page.locator("conversation-list h3").first).to_have_text("Pinned")
    await expect(section(page, "Pinned")).to_have_text(["Old talk"])
    await expect(page.get_by_role("button", name="Unpin “Old talk”")).to_be_focused()
    await expect(sidebar_links(page).first).to_have_text("Old talk")

    await page.reload()
    await expect(section(page, "Pinned")).to_have_text(["Old talk"])
    await expect(sidebar_links(page)).to_have_text(
        ["Old talk", "Today talk", "Yesterday talk", "Last week talk"]
    )

    await page.get_by_role("button", name="Unpin “Old talk”").click()
    await expect(page.get_by_role("list", name="Pinned")).to_have_count(0)
    await expect(sidebar_links(page).last).to_have_text("Old talk")


async def test_another_users_conversation_cannot_be_pinned(stack: Stack) -> None:
    owner = await stack.new_account()
    intruder = await stack.new_account()
    conversation_id = await stack.new_conversation(owner, "Private")
    body = await stack.response(
        "mutation($id: ID!) { pinConversation(id: $id, pinned: true) { id pinnedAt } }",
        {"id": conversation_id},
        intruder.token,
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_sidebar_shows_whole_titles_with_actions_on_hover_and_a_tooltip(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    title = "A rather long conversation title about planning the garden for next spring"
    await stack.new_conversation(account, title)
    await log_in(page, account)
    link = sidebar_links(page).first
    await expect(link).to_have_attribute("title", title)
    actions = page.locator("conversation-list .actions").first
    await composer(page).focus()
    await page.mouse.move(900, 400)
    await expect(actions).to_have_css("opacity", "0")
    # The title has the row's whole width while the actions are hidden.
    row = await page.locator("conversation-list li.item").first.bounding_box()
    box = await link.bounding_box()
    assert row
    assert box
    assert box["width"] >= row["width"] - 1
    await link.hover()
    await expect(actions).to_have_css("opacity", "1")
    await page.mouse.move(900, 400)
    await page.get_by_role("button", name=f"Rename “{title}”").focus()
    await expect(actions).to_have_css("opacity", "1")


async def test_sidebar_collapses_on_a_desktop_and_stays_collapsed(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    account = await stack.new_account()
    await stack.new_conversation(account, "Something")
    await log_in(page, account)
    await expect(page.get_by_role("button", name="Close conversations")).to_be_hidden()
    await page.get_by_role("button", name="Collapse the sidebar").click()
    await expect(sidebar_links(page)).to_have_count(0)
    expand = page.get_by_role("button", name="Expand the sidebar")
    await expect(expand).to_be_focused()
    box = await page.locator("chat-sidebar nav").bounding_box()
    assert box
    assert box["width"] < 80
    await page.screenshot(path=artifacts / "sidebar-collapsed.png")

    await page.reload()
    await expect(expand).to_be_visible()
    await expect(sidebar_links(page)).to_have_count(0)
    await expand.click()
    await expect(sidebar_links(page)).to_have_text(["Something"])
    await expect(page.get_by_role("button", name="Collapse the sidebar")).to_be_focused()


async def test_phone_drawer_has_a_close_button(open_page: OpenPage, stack: Stack) -> None:
    account = await stack.new_account()
    await stack.new_conversation(account, "On the phone")
    page = await open_page(viewport={"width": 390, "height": 844}, has_touch=True)
    await log_in(page, account)
    # Collapsing is for desktops: the phone has its drawer.
    menu = page.get_by_role("button", name="Open conversations")
    await menu.click()
    await expect(sidebar_links(page)).to_have_text(["On the phone"])
    close = page.get_by_role("button", name="Close conversations")
    await expect(close).to_be_visible()
    # Collapsing is for desktops: the phone has its drawer.
    await expect(page.get_by_role("button", name="Collapse the sidebar")).to_be_hidden()
    await close.click()
    await expect(sidebar_links(page).first).to_be_hidden()
    await expect(menu).to_be_focused()
