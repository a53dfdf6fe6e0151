"""Keyboard shortcuts (listed with "?"), and copying: "Copied" on the button, prompts too."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import answers, composer, log_in, numbered_tokens, posts, send, wait_for_text
from tests.e2e.stack import Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser

CLIPBOARD = {"permissions": ["clipboard-read", "clipboard-write"]}


async def test_question_mark_lists_the_shortcuts_but_types_in_the_message_box(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await composer(page).press("?")
    await expect(composer(page)).to_have_value("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_be_hidden()

    await page.get_by_role("button", name="New chat").first.focus()
    await page.keyboard.press("?")
    await expect(dialog).to_be_visible()
    for action in ("New chat", "Search", "Go to the message box", "Stop the answer"):
        await expect(dialog).to_contain_text(action)
    await expect(dialog).to_contain_text("Copy the last answer")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("button", name="New chat").first).to_be_focused()

    # The sidebar lists them too, for who does not know about "?".
    await page.get_by_role("button", name="Keyboard shortcuts").click()
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Close the list of shortcuts").click()
    await expect(dialog).to_be_hidden()


async def test_shortcuts_start_a_chat_search_focus_and_copy(
    open_page: OpenPage, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    model.queue_behaviour(Behaviour(text="The answer to copy."))
    await stack.send_prompt(account, "A question")
    page = await open_page(**CLIPBOARD)
    await log_in(page, account)
    await page.get_by_role("link", name="A question").click()
    await expect(answers(page).last).to_have_text("The answer to copy.")

    await page.get_by_role("link", name="A question").focus()
    await page.keyboard.press("Alt+Shift+M")
    await expect(composer(page)).to_be_focused()

    await page.keyboard.press("Alt+Shift+C")
    await expect(page.get_by_text("Answer copied to the clipboard.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == "The answer to copy."

    await page.keyboard.press("Alt+Shift+K")
    search = page.get_by_role("searchbox", name="Search titles, prompts and answers")
    await expect(search).to_be_focused()
    # Inside the search dialog its own keys win: Escape closes it.
    await page.keyboard.press("Escape")
    await expect(search).to_be_hidden()

    await page.keyboard.press("Alt+Shift+N")
    await expect(page).to_have_url(re.compile(r"/#/$|/$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("New chat")
    await expect(composer(page)).to_be_focused()


async def test_shortcut_stops_the_answer(page: Page, stack: Stack, model: VLLMStandin) -> None:
    account = await stack.new_account()
    model.queue_behaviour(Behaviour(tokens=numbered_tokens(200), token_delay=0.05))
    await log_in(page, account)
    await send(page, "Talk for a long time")
    await wait_for_text(page, lambda text: "t3" in text)
    await page.keyboard.press("Alt+Shift+X")
    await expect(posts(page).last.get_by_role("note")).to_contain_text("Stopped")


async def test_copy_buttons_say_copied_for_a_moment_and_prompts_copy_too(
    open_page: OpenPage, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    model.queue_behaviour(Behaviour(text="Here:\n\n```python\nprint('hi')\n```"))
    await stack.send_prompt(account, "Show me code")
    page = await open_page(**CLIPBOARD)
    await log_in(page, account)
    await page.get_by_role("link", name="Show me code").click()
    copy_code = answers(page).first.get_by_role("button", name="Copy code")
    await copy_code.click()
    await expect(answers(page).first.locator("button.copy-code")).to_have_text("Copied")
    await expect(answers(page).first.locator("button.copy-code")).to_have_text(
        "Copy code", timeout=5000
    )

    await posts(page).first.get_by_role("button", name="Copy prompt").click()
    await expect(page.get_by_text("Prompt copied to the clipboard.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == "Show me code"
    await expect(posts(page).first.locator(".copy-prompt")).to_have_attribute(
        "aria-label", "Copied"
    )
    await expect(posts(page).first.locator(".copy-prompt")).to_have_attribute(
        "aria-label", "Copy prompt", timeout=5000
    )
