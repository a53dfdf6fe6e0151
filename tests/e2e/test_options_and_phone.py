"""The options panel (close button, Escape, unsaved instructions, temperature, a sheet on a
phone), the phone composer (no Enter-to-send), and GraphiQL's way back to the chat."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import answers, composer, log_in, posts, send
from tests.e2e.stack import Stack
from tests.standins import VLLMStandin

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}


def options_button(page: Page) -> Locator:
    return page.get_by_role("button", name=re.compile("^Options"))


async def test_options_panel_closes_with_its_button_and_with_escape(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await options_button(page).click()
    panel = page.get_by_role("region", name="Options")
    await expect(panel).to_be_visible()
    await page.get_by_role("button", name="Close the options").click()
    await expect(panel).to_have_count(0)
    await expect(options_button(page)).to_be_focused()

    await options_button(page).click()
    await page.get_by_label("Length").focus()
    await page.keyboard.press("Escape")
    await expect(panel).to_have_count(0)
    await expect(options_button(page)).to_have_attribute("aria-expanded", "false")


async def test_options_panel_warns_before_dropping_unsaved_instructions(
    page: Page, stack: Stack
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await options_button(page).click()
    await page.get_by_label("Instructions for this conversation").fill("Answer in haiku.")
    await page.keyboard.press("Escape")
    question = page.get_by_role("dialog")
    await expect(question).to_contain_text("Discard the instructions you have not saved?")
    await question.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_label("Instructions for this conversation")).to_have_value(
        "Answer in haiku."
    )
    await page.get_by_role("button", name="Close the options").click()
    await question.get_by_role("button", name="Discard").click()
    await expect(page.get_by_role("region", name="Options")).to_have_count(0)
    await options_button(page).click()
    await expect(page.get_by_label("Instructions for this conversation")).to_have_value("")


async def test_temperature_reaches_the_model(page: Page, stack: Stack, model: VLLMStandin) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await options_button(page).click()
    await page.get_by_label("Temperature").fill("0.3")
    await page.get_by_label("Temperature").press("Tab")
    await page.get_by_role("button", name="Close the options").click()
    await send(page, "Be precise")
    await expect(answers(page).last).to_have_text("Echo: Be precise")
    assert model.requests[-1]["temperature"] == pytest.approx(0.3)


async def test_phone_options_are_a_sheet_and_enter_makes_a_new_line(
    open_page: OpenPage, stack: Stack, artifacts: Path
) -> None:
    account = await stack.new_account()
    page = await open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    await log_in(page, account)
    # No "Enter to send" on a touch screen: there Enter makes a new line.
    await expect(page.get_by_text("Enter to send")).to_have_count(0)
    await expect(page.get_by_text("Enter sends")).to_have_count(0)
    await composer(page).fill("First line")
    await composer(page).press("Enter")
    await composer(page).type("second line")
    await expect(composer(page)).to_have_value("First line\nsecond line")
    await expect(posts(page)).to_have_count(0)
    await page.get_by_role("button", name="Send").click()
    await expect(answers(page).last).to_have_text(re.compile("^Echo: First line"))

    # On a phone the button shows its icon only; its name is the hint.
    await page.get_by_role("button", name=re.compile("instructions, language")).click()
    sheet = page.get_by_role("region", name="Options")
    box = await sheet.bounding_box()
    assert box is not None
    # A sheet over the bottom of the screen: the chat stays where it was, under it.
    assert box["y"] + box["height"] == pytest.approx(PHONE["height"], abs=1)
    assert box["height"] <= PHONE["height"] * 0.8 + 1
    header = await page.get_by_role("heading", level=1).bounding_box()
    assert header is not None
    assert header["y"] < 60
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await page.screenshot(path=artifacts / "phone-options-sheet.png")
    await page.get_by_role("button", name="Close the options").click()
    await expect(sheet).to_have_count(0)


async def test_graphiql_has_a_link_back_to_the_chat(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    await page.goto("/graphql")
    back = page.get_by_role("link", name="Back to the chat")
    await expect(back).to_be_visible()
    await back.click()
    await expect(composer(page)).to_be_visible()
