"""Conversations as trees in the page: edit a sent prompt (a new branch), regenerate (a new
version of the answer), flip between versions with "< 2 / 3 >", and find the branch that
was current again after a reload."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import answers, composer, log_in, posts, send, sidebar_links
from tests.e2e.stack import Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser


def versions(post: Locator) -> Locator:
    return post.get_by_role("group", name="Versions")


def history(model: VLLMStandin) -> list[str]:
    """What the model was sent with its last request, the system prompt left out."""
    return [m["content"] for m in model.requests[-1]["messages"] if m["role"] != "system"]


async def regenerate(page: Page, model: VLLMStandin, text: str) -> None:
    model.queue_behaviour(Behaviour(text=text))
    await posts(page).last.get_by_role("button", name="Regenerate", exact=True).click()
    await expect(answers(page).last).to_have_text(text)


async def test_editing_a_prompt_makes_a_branch(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    first = await stack.send_prompt(account, "Name a fruit")
    await stack.send_prompt(account, "And a colour", first["conversationId"])
    await log_in(page, account)
    await sidebar_links(page).first.click()
    await expect(posts(page)).to_have_count(2)

    await posts(page).first.get_by_role("button", name="Edit prompt").click()
    editor = posts(page).first.get_by_role("textbox", name="Edit your prompt")
    await expect(editor).to_be_focused()
    await expect(editor).to_have_value("Name a fruit")
    await editor.fill("Name a vegetable")
    await editor.press("Enter")
    await expect(answers(page)).to_have_text(["Echo: Name a vegetable"])
    await expect(versions(posts(page).first)).to_contain_text("Version 2 of 2")
    assert history(model) == ["Name a vegetable"]

    # The new branch goes on from the edit, the model seeing only its history.
    await send(page, "And a spice")
    await expect(answers(page)).to_have_text(["Echo: Name a vegetable", "Echo: And a spice"])
    assert history(model) == ["Name a vegetable", "Echo: Name a vegetable", "And a spice"]

    # The branch edited away from is all there.
    await versions(posts(page).first).get_by_role("button", name="Previous version").click()
    await expect(answers(page)).to_have_text(["Echo: Name a fruit", "Echo: And a colour"])
    await expect(versions(posts(page).first)).to_contain_text("Version 1 of 2")


async def test_the_version_switcher_flips_versions_and_survives_a_reload(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    model.queue_behaviour(Behaviour(text="First answer"))
    await send(page, "Tell me something")
    await expect(answers(page).last).to_have_text("First answer")
    await regenerate(page, model, "Second answer")
    await regenerate(page, model, "Third answer")
    switcher = versions(posts(page).first)
    await expect(switcher).to_contain_text("Version 3 of 3")

    # From the keyboard: the focus stays on the button as the versions flip under it.
    previous = switcher.get_by_role("button", name="Previous version")
    await previous.focus()
    await page.keyboard.press("Enter")
    await expect(answers(page)).to_have_text(["Second answer"])
    await expect(switcher).to_contain_text("Version 2 of 3")
    await expect(previous).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(answers(page)).to_have_text(["First answer"])
    await expect(previous).to_have_attribute("aria-disabled", "true")
    await expect(switcher.locator("[aria-live=polite]")).to_contain_text("Version 1 of 3")

    await page.reload()
    await expect(answers(page)).to_have_text(["First answer"])
    await expect(versions(posts(page).first)).to_contain_text("Version 1 of 3")
    await versions(posts(page).first).get_by_role("button", name="Next version").click()
    await expect(answers(page)).to_have_text(["Second answer"])
    await page.reload()
    await expect(answers(page)).to_have_text(["Second answer"])
    await expect(versions(posts(page).first)).to_contain_text("Version 2 of 3")


async def test_regenerate_keeps_the_previous_answer_as_a_version(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await send(page, "Write a haiku")
    await expect(answers(page).last).to_have_text("Echo: Write a haiku")
    await send(page, "Another one")
    await expect(answers(page).last).to_have_text("Echo: Another one")
    # Regenerating an earlier answer branches there: the later post stays on the old branch.
    model.queue_behaviour(Behaviour(text="A better haiku"))
    await posts(page).first.get_by_role("button", name="Regenerate", exact=True).click()
    await expect(answers(page)).to_have_text(["A better haiku"])
    await expect(versions(posts(page).first)).to_contain_text("Version 2 of 2")
    await versions(posts(page).first).get_by_role("button", name="Previous version").click()
    await expect(answers(page)).to_have_text(["Echo: Write a haiku", "Echo: Another one"])


async def test_an_edit_is_cancelled_by_escape_and_its_draft_survives_a_reload(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    await stack.send_prompt(account, "Plan a picnic")
    await log_in(page, account)
    await sidebar_links(page).first.click()
    await posts(page).first.get_by_role("button", name="Edit prompt").click()
    editor = posts(page).first.get_by_role("textbox", name="Edit your prompt")
    await editor.fill("Plan a picnic for twelve")
    await page.reload()
    editor = posts(page).first.get_by_role("textbox", name="Edit your prompt")
    await expect(editor).to_have_value("Plan a picnic for twelve")

    await editor.press("Escape")
    await expect(editor).to_have_count(0)
    await expect(posts(page).first.get_by_role("button", name="Edit prompt")).to_be_focused()
    await expect(posts(page).first).to_contain_text("Plan a picnic")
    await page.reload()
    await expect(posts(page).first.get_by_role("button", name="Edit prompt")).to_be_visible()
    await expect(posts(page).first.get_by_role("textbox", name="Edit your prompt")).to_have_count(0)
    await expect(composer(page)).to_be_visible()
    await expect(versions(posts(page).first)).to_have_count(0)


async def test_a_prompt_found_on_another_branch_opens_that_branch(
    open_page: OpenPage, stack: Stack
) -> None:
    account = await stack.new_account()
    first = await stack.send_prompt(account, "Plan a trip")
    await stack.send_prompt(account, "By the coast to Lisbon", first["conversationId"])
    page = await open_page()
    await log_in(page, account)
    await sidebar_links(page).first.click()
    await posts(page).last.get_by_role("button", name="Edit prompt").click()
    editor = posts(page).last.get_by_role("textbox", name="Edit your prompt")
    await editor.fill("Inland to Porto")
    await editor.press("Enter")
    await expect(answers(page)).to_have_text(["Echo: Plan a trip", "Echo: Inland to Porto"])

    await page.get_by_role("button", name="Search titles, prompts and answers").click()
    await page.get_by_role("searchbox", name="Search titles, prompts and answers").fill("Lisbon")
    results = page.get_by_role("list", name="Messages found").get_by_role("button")
    await expect(results).to_have_count(1)
    await results.first.click()
    await expect(answers(page)).to_have_text(["Echo: Plan a trip", "Echo: By the coast to Lisbon"])
    await expect(versions(posts(page).last)).to_contain_text("Version 1 of 2")

    # A link to the conversation, opened elsewhere, shows the branch that is current.
    elsewhere = await open_page()
    await log_in(elsewhere, account)
    await elsewhere.goto(f"/#/c/{first['conversationId']}")
    await expect(answers(elsewhere)).to_have_text(
        ["Echo: Plan a trip", "Echo: By the coast to Lisbon"]
    )


async def test_versions_and_the_edit_box_fit_a_phone(
    open_page: OpenPage, stack: Stack, model: VLLMStandin
) -> None:
    phone = {"width": 375, "height": 740}
    account = await stack.new_account()
    page = await open_page(viewport=phone, is_mobile=True, has_touch=True)
    await log_in(page, account)
    # On a touch screen Enter makes a new line: the Send button sends.
    await composer(page).fill("A question with a rather long prompt, asked on the phone in a hurry")
    await page.get_by_role("button", name="Send").tap()
    await expect(answers(page).last).to_contain_text("Echo: A question")
    await regenerate(page, model, "Another take.")
    switcher = versions(posts(page).first)
    await switcher.get_by_role("button", name="Previous version").tap()
    await expect(answers(page)).to_have_text(
        ["Echo: A question with a rather long prompt, asked on the phone in a hurry"]
    )
    fits = []
    next_version = switcher.get_by_role("button", name="Next version")
    fits.append(await next_version.bounding_box())
    await posts(page).first.get_by_role("button", name="Edit prompt").tap()
    fits.append(
        await posts(page).first.get_by_role("textbox", name="Edit your prompt").bounding_box()
    )
    for box in fits:
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= phone["width"]
    assert await page.evaluate("document.documentElement.scrollWidth") <= phone["width"]
