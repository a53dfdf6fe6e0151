"""An answer cut off by the length limit says so, and Continue carries it on in place."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.pages import log_in, posts, send, wait_for_text
from tests.e2e.stack import Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser


async def test_an_answer_cut_off_by_the_length_limit_says_so_and_continues_in_place(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    model.queue_behaviour(Behaviour(text="Once upon a", finish_reason="length"))
    await log_in(page, account)
    await send(page, "Tell a story")
    await wait_for_text(page, lambda text: text == "Once upon a")
    notice = posts(page).last.get_by_role("note")
    await expect(notice).to_contain_text("Cut off.")
    await page.screenshot(path="test-artifacts/answer-cut-off.png")

    model.queue_behaviour(Behaviour(text=" time, the end.", token_delay=0.02))
    await notice.get_by_role("button", name="Continue").click()
    await wait_for_text(page, lambda text: text == "Once upon a time, the end.")
    await expect(posts(page)).to_have_count(1)
    await expect(posts(page).last.get_by_role("note")).to_have_count(0)
    # Reloaded, the one post holds the whole answer.
    await page.reload()
    await wait_for_text(page, lambda text: text == "Once upon a time, the end.")
