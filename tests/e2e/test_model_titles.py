"""Titles written by the model after the first answer reach the header and the sidebar."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import answers, log_in, send, sidebar_links
from tests.e2e.stack import Stack, start_stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def titled_stack(
    llm: VLLMStandin, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    stack, processes = start_stack(tmp_path_factory.mktemp("titles"), llm, AUTO_TITLES="true")
    yield stack
    await stack.http.aclose()
    for process in reversed(processes):
        process.stop()


async def test_model_written_title_replaces_the_prompts_in_header_and_sidebar(
    open_page: OpenPage, titled_stack: Stack, model: VLLMStandin
) -> None:
    account = await titled_stack.new_account()
    model.queue_behaviour(
        Behaviour(text="Bring sandwiches, fruit and a blanket."),
        Behaviour(text="Picnic Packing Checklist"),
    )
    page = await open_page(base_url=titled_stack.url)
    await log_in(page, account)
    await send(page, "what should i take to a picnic in the park tomorrow")
    await expect(answers(page).last).to_have_text("Bring sandwiches, fruit and a blanket.")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Picnic Packing Checklist", timeout=10_000
    )
    await expect(sidebar_links(page)).to_have_text(["Picnic Packing Checklist"])
    await expect(page).to_have_title("Picnic Packing Checklist · Chat")
