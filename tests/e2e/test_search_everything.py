"""The one search box: titles, prompts and answers, the matched words marked in context."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.pages import log_in, posts
from tests.e2e.stack import Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser


async def open_search(page: Page, text: str) -> None:
    await page.get_by_role("button", name="Search titles, prompts and answers").click()
    box = page.get_by_role("searchbox", name="Search titles, prompts and answers")
    await expect(box).to_be_focused()
    await box.fill(text)


def hits(page: Page) -> Locator:
    return page.get_by_role("list", name="Messages found").get_by_role("button")


async def test_search_finds_words_in_answers_marked_in_context(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    model.queue_behaviour(
        Behaviour(text="Quinces are best poached slowly in syrup with a vanilla pod.")
    )
    first = await stack.send_prompt(account, "How do I cook this fruit?")
    await stack.send_prompt(account, "Something else entirely", first["conversationId"])
    await log_in(page, account)
    await open_search(page, "poached")
    await expect(hits(page)).to_have_count(1)
    await expect(hits(page).first).to_contain_text("Answer")
    await expect(hits(page).first.locator("mark")).to_have_text(["poached"])
    await expect(hits(page).first).to_contain_text("Quinces are best poached slowly")
    await hits(page).first.click()
    await expect(page).to_have_url(re.compile(rf"/#/c/{first['conversationId']}\?post="))
    await expect(posts(page).filter(has_text="How do I cook this fruit?")).to_have_attribute(
        "highlighted", ""
    )


async def test_search_finds_conversations_by_title_too(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    conversation_id = await stack.new_conversation(account, "Holiday in Lisbon")
    await log_in(page, account)
    await open_search(page, "lisbon")
    titles = page.get_by_role("list", name="Conversation titles").get_by_role("button")
    await expect(titles).to_have_count(1)
    await expect(titles.first.locator("mark")).to_have_text(["Lisbon"])
    await titles.first.click()
    await expect(page).to_have_url(re.compile(rf"/#/c/{conversation_id}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Holiday in Lisbon")


async def test_search_snippets_render_markup_as_text(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    payload = '<img src=x onerror="window.hacked=1"> <b>zanzibar</b> spices'
    model.queue_behaviour(Behaviour(text=payload))
    await stack.send_prompt(account, "Tell me about islands")
    await log_in(page, account)
    await open_search(page, "zanzibar")
    await expect(hits(page)).to_have_count(1)
    await expect(hits(page).first).to_contain_text('<img src=x onerror="window.hacked=1">')
    await expect(hits(page).first.locator("mark")).to_have_text(["zanzibar"])
    assert await hits(page).first.locator("img, b").count() == 0
    assert await page.evaluate("window.hacked") is None


async def test_search_never_shows_another_users_posts(page: Page, stack: Stack) -> None:
    owner = await stack.new_account()
    other = await stack.new_account()
    await stack.send_prompt(other, "secret xylophone plans")
    await stack.new_conversation(other, "xylophone title")
    await stack.send_prompt(owner, "my own xylophone question")
    await log_in(page, owner)
    await open_search(page, "xylophone")
    await expect(hits(page)).to_have_count(1)
    await expect(hits(page).first).to_contain_text("my own xylophone question")
    await expect(page.get_by_text("secret xylophone plans")).to_have_count(0)
    await expect(page.get_by_text("xylophone title")).to_have_count(0)


async def test_search_with_only_short_words_says_why_no_messages(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await stack.send_prompt(account, "an ox")
    await log_in(page, account)
    await open_search(page, "ox")
    await expect(page.get_by_text("words of 3 letters or more")).to_be_visible()
    await expect(hits(page)).to_have_count(0)
