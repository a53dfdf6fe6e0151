"""Around an answer: its times and details, the waiting and writing states, and "Jump to
latest" when the reader has scrolled up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.pages import log_in, numbered_tokens, posts, send, wait_for_text
from tests.e2e.stack import Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser


async def test_answer_shows_its_time_and_details_on_hover_and_focus(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    model.queue_behaviour(Behaviour(text="Fine, thanks.", token_delay=0.01))
    await log_in(page, account)
    await send(page, "How are you?")
    post = posts(page).last
    await expect(post.locator(".prompt-actions time")).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
    details = post.get_by_role("button", name="Answered")
    await expect(details).to_be_visible()
    tip = post.get_by_role("tooltip")
    await expect(tip).to_be_hidden()
    await details.hover()
    await expect(tip).to_be_visible()
    await expect(tip).to_contain_text("Model:")
    await expect(tip).to_contain_text("tokens in,")
    await expect(tip).to_contain_text(" s to answer")
    await page.mouse.move(5, 790)
    await expect(tip).to_be_hidden()
    await details.focus()
    await expect(tip).to_be_visible()
    await expect(details).to_have_attribute("aria-describedby", await tip.get_attribute("id") or "")


async def test_waiting_then_writing_states_show_while_the_answer_comes(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    model.queue_behaviour(
        Behaviour(tokens=numbered_tokens(40), first_token_delay=1.5, token_delay=0.08)
    )
    await log_in(page, account)
    await send(page, "Take your time")
    progress = posts(page).last.get_by_role("status")
    await expect(progress).to_have_text("Waiting for the model…")
    await wait_for_text(page, lambda text: "t3" in text)
    await expect(progress).to_have_text("Writing…")
    await wait_for_text(page, lambda text: "t39" in text)
    await expect(progress).to_have_count(0)


async def test_jump_to_latest_shows_when_the_reader_scrolls_up(
    page: Page, stack: Stack, model: VLLMStandin, artifacts: Path
) -> None:
    account = await stack.new_account()
    first = await stack.send_prompt(account, "Warm-up")
    for number in range(6):
        await stack.send_prompt(account, f"Question {number}", first["conversationId"])
    model.queue_behaviour(Behaviour(tokens=[f" line {n}\n\n" for n in range(60)], token_delay=0.05))
    await log_in(page, account)
    await page.goto(f"/#/c/{first['conversationId']}")
    await expect(posts(page)).to_have_count(7)
    await send(page, "Write a long answer")
    await wait_for_text(page, lambda text: "line 5" in text)
    jump = page.get_by_role("button", name="Jump to latest")
    await expect(jump).to_have_count(0)
    await page.locator("post-list").evaluate("list => list.scrollTo(0, 0)")
    await expect(jump).to_be_visible()
    await page.screenshot(path=artifacts / "jump-to-latest.png")
    await jump.click()
    await expect(jump).to_have_count(0)
    await wait_for_text(page, lambda text: "line 59" in text)
    at_bottom = await page.locator("post-list").evaluate(
        "list => list.scrollHeight - list.scrollTop - list.clientHeight < 80"
    )
    assert at_bottom
