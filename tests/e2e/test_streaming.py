"""Answers as they are written: streaming, stop, regenerate, retry, and re-attaching after a
reload, through the API's graphql-transport-ws subscriptions."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.pages import (
    answer_text,
    answers,
    composer,
    log_in,
    numbered_tokens,
    posts,
    send,
    sidebar_links,
    wait_for_text,
)
from tests.e2e.stack import Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser


async def test_answer_streams_in_piece_by_piece(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    tokens = numbered_tokens(30)
    model.queue_behaviour(Behaviour(tokens=tokens, token_delay=0.05))
    await log_in(page, account)
    await send(page, "Count for me")

    seen: list[str] = []
    full = "".join(tokens).strip()
    while not seen or seen[-1] != full:
        text = await answer_text(page)
        if text and (not seen or text != seen[-1]):
            seen.append(text)
        await asyncio.sleep(0.02)
    assert len(seen) >= 4, seen  # it grew in several steps, not all at once
    assert all(full.startswith(partial) for partial in seen)
    await expect(posts(page).last.locator(".answer")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#announcer")).to_contain_text("Answer complete. t0 t1 t2")
    await expect(composer(page)).to_be_enabled()


async def test_finished_blocks_of_a_streamed_answer_are_not_rendered_again(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    tokens = ["First paragraph.", "\n\n", "Second", *numbered_tokens(40)]
    model.queue_behaviour(Behaviour(tokens=tokens, token_delay=0.05))
    await log_in(page, account)
    await send(page, "Two paragraphs, please")
    await wait_for_text(page, lambda text: "t2" in text)
    first = answers(page).last.locator(".content p").first
    await first.evaluate("paragraph => { paragraph.dataset.seen = 'yes' }")
    await wait_for_text(page, lambda text: "t39" in text)
    await expect(posts(page).last.locator(".answer")).to_have_attribute("aria-busy", "false")
    await expect(first).to_have_text("First paragraph.")
    await expect(first).to_have_attribute("data-seen", "yes")  # the same element all along


async def test_first_prompt_of_a_new_chat_adds_it_to_the_sidebar(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await send(page, "Plan a picnic")
    await expect(answers(page).last).to_have_text("Echo: Plan a picnic")
    await expect(page).to_have_url(re.compile(r"#/c/\w+$"))
    await expect(sidebar_links(page)).to_have_text(["Plan a picnic"])
    await expect(sidebar_links(page).first).to_have_attribute("aria-current", "page")
    await expect(composer(page)).to_have_value("")


async def test_stop_keeps_the_partial_answer_marked_stopped(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    tokens = numbered_tokens(400)
    model.queue_behaviour(Behaviour(tokens=tokens, token_delay=0.05))
    await log_in(page, account)
    await send(page, "Talk for a long time")
    await wait_for_text(page, lambda text: "t5" in text)
    await page.get_by_role("button", name="Stop").click()

    last = posts(page).last
    await expect(last.get_by_role("note")).to_have_text("Stopped before the end.")
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
    stopped = await answer_text(page)
    assert 0 < len(stopped.split()) < len(tokens)
    await page.reload()
    await expect(posts(page).last.get_by_role("note")).to_have_text("Stopped before the end.")
    assert await answer_text(page) == stopped
    await expect(page.get_by_role("button", name="Retry")).to_be_visible()


async def test_regenerate_replaces_the_last_answer(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await send(page, "Tell me a joke")
    await expect(answers(page).last).to_have_text("Echo: Tell me a joke")
    model.queue_behaviour(Behaviour(text="A better joke, written slowly.", token_delay=0.05))
    await page.get_by_role("button", name="Regenerate").click()
    await expect(answers(page).last).to_have_text("A better joke, written slowly.")
    await expect(posts(page)).to_have_count(1)
    await expect(posts(page).last).to_contain_text("Tell me a joke")
    await page.reload()
    await expect(answers(page)).to_have_text(["A better joke, written slowly."])


async def test_failed_answer_can_be_retried(page: Page, stack: Stack, model: VLLMStandin) -> None:
    account = await stack.new_account()
    model.queue_behaviour(Behaviour(status=500))
    await log_in(page, account)
    await send(page, "Are you there?")
    await expect(page.get_by_text("The model is unavailable right now.")).to_be_visible()
    await expect(posts(page).last.get_by_role("note")).to_contain_text("Failed.")
    await page.get_by_role("button", name="Retry").click()
    await expect(answers(page).last).to_have_text("Echo: Are you there?")
    await expect(posts(page).last.get_by_role("note")).to_have_count(0)
    await expect(posts(page)).to_have_count(1)


async def test_reload_mid_answer_reattaches_and_the_text_continues(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    tokens = numbered_tokens(80)
    model.queue_behaviour(Behaviour(tokens=tokens, token_delay=0.05))
    await log_in(page, account)
    await send(page, "A long answer, please")
    await wait_for_text(page, lambda text: "t10" in text)
    await page.reload()

    after_reload = await wait_for_text(page, lambda text: "t10" in text)
    assert "t79" not in after_reload  # still being written
    final = await wait_for_text(page, lambda text: "t79" in text)
    assert final == "".join(tokens).strip()  # nothing lost, nothing doubled
    await expect(posts(page).last.get_by_role("note")).to_have_count(0)


async def test_composer_stays_usable_while_an_answer_streams(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    model.queue_behaviour(Behaviour(tokens=numbered_tokens(60), token_delay=0.05))
    await log_in(page, account)
    await send(page, "First question")
    await wait_for_text(page, lambda text: "t3" in text)
    await expect(composer(page)).to_be_enabled()
    await composer(page).fill("Second question, typed while the first is answered")
    await composer(page).press("Enter")
    await expect(posts(page)).to_have_count(1)  # not sent while the answer streams
    await expect(composer(page)).to_have_value("Second question, typed while the first is answered")
    await wait_for_text(page, lambda text: "t59" in text)
    # The last token shows a moment before the answer is marked done (then Stop goes away).
    await expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    await composer(page).press("Enter")
    await expect(posts(page)).to_have_count(2)
    await expect(answers(page).last).to_have_text(
        "Echo: Second question, typed while the first is answered"
    )


async def test_composer_enter_sends_and_shift_enter_adds_a_line(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    box = composer(page)
    one_line = (await box.bounding_box() or {}).get("height", 0)
    await box.type("First line")
    await box.press("Shift+Enter")
    await box.type("second line")
    await box.press("Shift+Enter")
    await box.type("third line")
    await expect(box).to_have_value("First line\nsecond line\nthird line")
    assert (await box.bounding_box() or {}).get("height", 0) > one_line * 2  # it grew
    await box.press("Enter")
    await expect(posts(page).last.locator(".prompt")).to_have_text(
        re.compile("First line\nsecond line\nthird line")
    )
    await expect(box).to_have_value("")


async def test_composer_keeps_a_draft_per_conversation(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    first = await stack.send_prompt(account, "Conversation one")
    second = await stack.send_prompt(account, "Conversation two")
    await log_in(page, account)
    await page.goto(f"/#/c/{first['conversationId']}")
    await composer(page).fill("Draft for one")
    await page.goto(f"/#/c/{second['conversationId']}")
    await expect(composer(page)).to_have_value("")
    await composer(page).fill("Draft for two")
    await page.goto(f"/#/c/{first['conversationId']}")
    await expect(composer(page)).to_have_value("Draft for one")
    await page.reload()
    await expect(composer(page)).to_have_value("Draft for one")
    await page.goto(f"/#/c/{second['conversationId']}")
    await expect(composer(page)).to_have_value("Draft for two")


async def test_output_options_and_instructions_reach_the_model(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    post = await stack.send_prompt(account, "Start")
    await log_in(page, account)
    await page.goto(f"/#/c/{post['conversationId']}")
    options = page.get_by_role("button", name=re.compile("^Options"))
    await options.click()
    await expect(options).to_have_attribute("aria-expanded", "true")
    await page.get_by_label("Instructions for this conversation").fill("Always rhyme.")
    await page.get_by_role("button", name="Save instructions").click()
    await expect(page.get_by_text("Instructions saved.")).to_be_visible()
    await page.get_by_label("Answer language").fill("Português")
    await page.get_by_label("Answer language").press("Tab")
    await page.get_by_label("Format").select_option(label="Bullet points")
    await page.get_by_label("Length").select_option(label="Short")

    await send(page, "Describe the sea")
    await expect(answers(page).last).to_have_text("Echo: Describe the sea")
    request = model.requests[-1]
    said = "\n".join(str(message["content"]) for message in request["messages"])
    assert "Always rhyme." in said
    assert "Português" in said
    assert request["max_tokens"] == 256

    await page.reload()
    await options.click()
    await expect(page.get_by_label("Instructions for this conversation")).to_have_value(
        "Always rhyme."
    )
    await expect(page.get_by_label("Length")).to_have_value("short")
