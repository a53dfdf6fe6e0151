"""Reading back: earlier posts page by page, the prompt search, and saved answers' status."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import answers, log_in, posts, sidebar_links
from tests.e2e.stack import SEND_PROMPT, Account, Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser


async def long_conversation(stack: Stack, account: Account, count: int) -> str:
    first = await stack.send_prompt(account, "Question number 00 about apples")
    for number in range(1, count):
        await stack.send_prompt(
            account, f"Question number {number:02d} about apples", first["conversationId"]
        )
    conversation_id: str = first["conversationId"]
    return conversation_id


async def test_earlier_posts_load_page_by_page_upward(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    conversation_id = await long_conversation(stack, account, 30)
    await log_in(page, account)
    await page.goto(f"/#/c/{conversation_id}")
    await expect(posts(page)).to_have_count(20)
    await expect(posts(page).last).to_contain_text("Question number 29")
    await expect(posts(page).last).to_be_in_viewport()

    await page.get_by_role("button", name="Load earlier messages").scroll_into_view_if_needed()
    await expect(posts(page)).to_have_count(30)
    await expect(posts(page).first).to_contain_text("Question number 00")
    await expect(page.get_by_role("button", name="Load earlier messages")).to_have_count(0)


async def test_search_earlier_prompts_opens_the_conversation_at_that_post(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    conversation_id = await long_conversation(stack, account, 30)
    await stack.send_prompt(account, "Something unrelated about pears")
    await log_in(page, account)

    await page.get_by_role("button", name="Search titles, prompts and answers").click()
    search = page.get_by_role("searchbox", name="Search titles, prompts and answers")
    await expect(search).to_be_focused()
    await search.fill("number 05")
    results = page.get_by_role("list", name="Messages found").get_by_role("button")
    await expect(results).to_have_count(1)
    await results.first.click()

    await expect(page).to_have_url(re.compile(rf"/#/c/{conversation_id}\?post=\w+&cursor="))
    target = posts(page).filter(has_text="Question number 05")
    await expect(target).to_have_attribute("highlighted", "")
    await expect(target).to_be_in_viewport()
    await expect(posts(page).first).to_contain_text("Question number 00")
    await page.get_by_role("button", name="Load later messages").scroll_into_view_if_needed()
    await expect(posts(page)).to_have_count(30)
    await expect(posts(page).last).to_contain_text("Question number 29")


async def test_failed_answer_shows_its_status_in_words(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    model.queue_behaviour(Behaviour(status=500))
    body = await stack.response(SEND_PROMPT, {"c": None, "p": "Will this work?"}, account.token)
    assert body["errors"][0]["extensions"]["code"] == "LLM_UNAVAILABLE"
    await log_in(page, account)
    await page.get_by_role("link", name="Will this work?").click()
    await expect(posts(page).first.get_by_role("note")).to_contain_text("Failed.")
    await expect(page.get_by_role("button", name="Retry")).to_be_visible()


async def test_code_blocks_are_highlighted_and_copyable(
    open_page: OpenPage, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    code = 'def greet(name):\n    return f"Hello, {name}"'
    model.queue_behaviour(Behaviour(text=f"Here you go:\n\n```python\n{code}\n```\n\nEnjoy."))
    await stack.send_prompt(account, "Write a greeting function")
    page = await open_page(permissions=["clipboard-read", "clipboard-write"])
    await log_in(page, account)
    await page.get_by_role("link", name="Write a greeting function").click()
    block = answers(page).first.locator("pre code")
    await expect(block).to_have_class("language-python hljs")
    await expect(block.locator(".hljs-keyword").first).to_have_text("def")

    await answers(page).first.get_by_role("button", name="Copy code").click()
    await expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == code + "\n"

    await posts(page).first.get_by_role("button", name="Copy", exact=True).click()
    assert await page.evaluate("navigator.clipboard.readText()") == (
        f"Here you go:\n\n```python\n{code}\n```\n\nEnjoy."
    )


async def test_an_opened_conversation_costs_one_request_to_the_api(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    other = await stack.send_prompt(account, "Another conversation")
    opened = await long_conversation(stack, account, 3)
    await log_in(page, account)
    await page.goto(f"/#/c/{other['conversationId']}")
    await expect(posts(page)).to_have_count(1)
    await page.wait_for_load_state("networkidle")
    requests: list[str] = []
    page.on(
        "request",
        lambda request: (
            requests.append(request.post_data or request.url)
            if "/graphql" in request.url or "/api/" in request.url
            else None
        ),
    )
    await sidebar_links(page).filter(has_text="Question number 00").click()
    await expect(posts(page)).to_have_count(3)
    await page.wait_for_load_state("networkidle")
    assert len(requests) == 1, requests
    assert opened in requests[0]
