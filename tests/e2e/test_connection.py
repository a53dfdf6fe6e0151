"""Clear, non-blocking messages when the network or the server goes away or refuses a prompt,
and a WebSocket that reconnects by itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import (
    answer_text,
    answers,
    composer,
    log_in,
    numbered_tokens,
    posts,
    send,
    wait_for_text,
)
from tests.e2e.stack import Stack, start_stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser


async def test_offline_shows_a_banner_and_keeps_the_page_usable(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await page.context.set_offline(True)
    banner = page.get_by_text("You are offline.")
    await expect(banner).to_be_visible()
    await composer(page).fill("Written while offline")
    await page.context.set_offline(False)
    await expect(banner).to_be_hidden()
    await expect(composer(page)).to_have_value("Written while offline")


async def test_unreachable_server_shows_a_clear_error(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await page.route("**/graphql", lambda route: route.abort("connectionrefused"))
    await page.get_by_role("searchbox", name="Search conversations").fill("anything")
    await expect(
        page.get_by_text("Cannot reach the server. Check your connection.")
    ).to_be_visible()
    await expect(composer(page)).to_be_enabled()


@pytest.fixture
async def own_stack(llm: VLLMStandin, tmp_path: Path) -> AsyncIterator[Stack]:
    """An API process of this test's own, so that the test can kill and restart it."""
    stack, processes = start_stack(tmp_path, llm)
    yield stack
    await stack.http.aclose()
    for process in reversed(processes):
        process.stop()


@pytest.mark.slow
async def test_websocket_reconnects_after_the_api_restarts(
    open_page: OpenPage, own_stack: Stack, model: VLLMStandin
) -> None:
    account = await own_stack.new_account()
    page = await open_page(base_url=own_stack.url)
    await log_in(page, account)
    model.queue_behaviour(Behaviour(tokens=numbered_tokens(600), token_delay=0.05))
    await send(page, "Keep talking")
    await wait_for_text(page, lambda text: "t30" in text)  # the API saves the text each second
    own_stack.api.kill()
    reconnecting = page.get_by_text("Connection lost. Reconnecting…")
    await expect(reconnecting).to_be_visible()
    own_stack.api.start()
    await expect(reconnecting).to_be_hidden(timeout=30_000)

    # The answer cut off by the crash is shown as failed, with the text saved before it kept.
    await expect(posts(page).last.get_by_role("note")).to_contain_text("Failed.")
    await expect(page.get_by_text("The server restarted while writing this answer")).to_be_visible()
    kept = await answer_text(page)
    assert kept.startswith("t0 t1")
    assert "".join(numbered_tokens(600)).strip().startswith(kept)
    await send(page, "Are you back?")
    await expect(answers(page).last).to_have_text("Echo: Are you back?")


@pytest.fixture(scope="module")
async def strict_stack(
    llm: VLLMStandin, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """An API process that allows one prompt per user per minute."""
    stack, processes = start_stack(tmp_path_factory.mktemp("strict"), llm, PROMPTS_PER_MINUTE="1")
    yield stack
    await stack.http.aclose()
    for process in reversed(processes):
        process.stop()


async def test_rate_limited_prompt_says_so_and_keeps_the_draft(
    open_page: OpenPage, strict_stack: Stack, model: VLLMStandin
) -> None:
    account = await strict_stack.new_account()
    page = await open_page(base_url=strict_stack.url)
    await log_in(page, account)
    await send(page, "First question")
    await expect(answers(page).last).to_have_text("Echo: First question")
    await send(page, "Second question, too soon")
    # Worded from the error's reason and numbers: the limit, and how long to wait.
    await expect(
        page.get_by_text(re.compile(r"At most 1 prompts a minute\. Try again in (\d+ s|1 min)\."))
    ).to_be_visible()
    await expect(composer(page)).to_have_value("Second question, too soon")
    await expect(composer(page)).to_be_enabled()
    await expect(posts(page)).to_have_count(1)
