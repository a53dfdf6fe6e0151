"""The bugs people met in their first ten minutes (issue 19), each as they met it."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import composer, log_in, posts, send, sidebar_links
from tests.e2e.stack import Account, Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
LONG_ANSWER = " ".join(f"Line {number} of a long answer." for number in range(120))
# A word of its own for each prompt: search leaves out words shorter than 3 letters.
RIVERS = ["Amazon", "Danube", "Douro", "Ganges", "Mekong", "Tagus"]


async def conversation_with_long_answers(stack: Stack, account: Account, model: VLLMStandin) -> str:
    first = None
    for number in range(6):
        model.queue_behaviour(Behaviour(text=LONG_ANSWER.replace(" Line", "\n\nLine")))
        post = await stack.send_prompt(
            account,
            f"Question {number} about rivers: the {RIVERS[number]}",
            first["conversationId"] if first else None,
        )
        first = first or post
    assert first is not None
    return str(first["conversationId"])


async def open_search_hit(page: Page, words: str) -> None:
    await page.get_by_role("button", name="Search titles, prompts and answers").click()
    await page.get_by_role("searchbox", name="Search titles, prompts and answers").fill(words)
    results = page.get_by_role("list", name="Messages found").get_by_role("button")
    await expect(results).to_have_count(1)
    await results.first.click()


async def prompt_top_in_view(page: Page, text: str) -> float:
    """Where the prompt's top is, relative to the top of the list's scrolling box (px)."""
    target = posts(page).filter(has_text=text)
    await expect(target).to_have_attribute("highlighted", "")
    await page.wait_for_timeout(300)
    return float(
        await target.evaluate(
            """(item) => {
                const list = item.closest('post-list') ?? item.getRootNode().host;
                const prompt = item.shadowRoot.querySelector('.prompt');
                return prompt.getBoundingClientRect().top - list.getBoundingClientRect().top;
            }"""
        )
    )


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_a_prompt_search_hit_scrolls_its_prompt_to_the_top(
    open_page: OpenPage, stack: Stack, model: VLLMStandin, size: str
) -> None:
    account = await stack.new_account()
    await conversation_with_long_answers(stack, account, model)
    options = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if size == "phone" else {}
    page = await open_page(**options)
    await log_in(page, account)
    if size == "phone":
        await page.get_by_role("button", name="Open conversations").click()
    await open_search_hit(page, RIVERS[2])
    top = await prompt_top_in_view(page, "Question 2 about rivers")
    assert 0 <= top <= 40, f"the prompt's top is {top}px from the top of the view"
    # The page itself never scrolled away from the composer.
    assert await page.evaluate("document.scrollingElement.scrollTop") == 0


async def test_the_search_hit_highlight_fades(page: Page, stack: Stack, model: VLLMStandin) -> None:
    account = await stack.new_account()
    await conversation_with_long_answers(stack, account, model)
    await log_in(page, account)
    await open_search_hit(page, RIVERS[3])
    prompt = posts(page).filter(has_text="Question 3 about rivers").locator(".prompt")
    outline = "(element) => getComputedStyle(element).outlineColor"
    await expect(posts(page).filter(has_text="Question 3 about rivers")).to_have_attribute(
        "highlighted", ""
    )
    assert await prompt.evaluate(outline) != "rgba(0, 0, 0, 0)"
    await page.wait_for_timeout(4_500)
    assert await prompt.evaluate(outline) == "rgba(0, 0, 0, 0)"


async def test_a_pending_prompt_never_gets_the_search_hit_outline(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await page.context.set_offline(True)
    await send(page, "Sent while offline")
    pending = posts(page).filter(has_text="Sent while offline")
    await expect(pending).to_have_count(1)
    await page.wait_for_timeout(500)
    await expect(pending).not_to_have_attribute("highlighted", "")
    await page.context.set_offline(False)


async def open_phone_drawer(open_page: OpenPage, stack: Stack, title: str) -> Page:
    account = await stack.new_account()
    await stack.new_conversation(account, title)
    page = await open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    await log_in(page, account)
    await page.get_by_role("button", name="Open conversations").click()
    await expect(page.get_by_role("navigation", name="Conversations and settings")).to_be_visible()
    return page


async def expect_drawer_stays_open(page: Page) -> None:
    # A closing drawer slides away: still "visible" for a moment, so wait past its slide.
    await page.wait_for_timeout(600)
    await expect(page.get_by_role("navigation", name="Conversations and settings")).to_be_visible()


async def test_escape_in_the_delete_dialog_on_a_phone_leaves_the_drawer_open(
    open_page: OpenPage, stack: Stack
) -> None:
    page = await open_phone_drawer(open_page, stack, "Keep the drawer")
    await page.get_by_role("button", name="Delete “Keep the drawer”").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await expect_drawer_stays_open(page)


async def test_escape_in_the_rename_box_on_a_phone_leaves_the_drawer_open(
    open_page: OpenPage, stack: Stack
) -> None:
    page = await open_phone_drawer(open_page, stack, "Name kept")
    await page.get_by_role("button", name="Rename “Name kept”").click()
    await page.get_by_role("textbox", name="New title").fill("Something else")
    await page.keyboard.press("Escape")
    await expect(sidebar_links(page)).to_have_text(["Name kept"])
    await expect_drawer_stays_open(page)
    # A second Escape, with nothing else to close, closes the drawer.
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("navigation", name="Conversations and settings")).to_be_hidden()


async def test_a_title_from_a_prompt_of_several_lines_stays_the_same_after_a_reload(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await composer(page).fill("Plan a trip\nto Lisbon   in May,\n\nwith two children")
    await composer(page).press("Enter")
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Plan a trip to Lisbon in May, with two children")
    await page.reload()
    await expect(heading).to_have_text("Plan a trip to Lisbon in May, with two children")
    await expect(sidebar_links(page)).to_have_text(
        ["Plan a trip to Lisbon in May, with two children"]
    )


async def test_a_server_error_is_worded_in_the_pages_language(
    open_page: OpenPage, stack: Stack
) -> None:
    page = await open_page(locale="pt-BR")
    await page.goto("/")
    await page.get_by_role("button", name="Criar conta").click()
    await page.get_by_label("Usuário").fill("alguem-novo")
    await page.get_by_label("Senha").fill("curta")
    await page.get_by_role("button", name="Criar conta").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text("A senha deve ter de 8 a 1024 caracteres.")


async def test_the_instructions_box_shows_its_limit_before_it_is_hit(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await page.get_by_role("button", name="Options").click()
    box = page.get_by_label("Instructions for this conversation")
    await box.fill("Answer as a patient teacher.")
    await expect(page.get_by_text("28 of 8,000 characters")).to_be_visible()
    assert await box.get_attribute("maxlength") == "8000"


async def test_the_lockout_message_says_how_long_it_lasts(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await page.goto("/")
    await page.get_by_label("Username").fill(account.username)
    for _ in range(5):
        await page.get_by_label("Password").fill("not the password")
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await asyncio.sleep(0.1)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Too many failed attempts: logging in to this account is locked for 5 min, "
        "even with the right password."
    )
