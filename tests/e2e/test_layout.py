"""Phone layout, themes and languages."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import composer, log_in, sidebar_links
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
DARK_BACKGROUND = "rgb(21, 24, 23)"
LIGHT_BACKGROUND = "rgb(255, 255, 255)"


async def test_phone_layout_fits_a_375_pixel_screen(open_page: OpenPage, stack: Stack) -> None:
    account = await stack.new_account()
    await stack.send_prompt(account, "A question asked on the phone")
    page = await open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    await log_in(page, account)

    sidebar = page.get_by_role("navigation", name="Conversations and settings")
    await expect(sidebar).not_to_be_visible()
    await page.get_by_role("button", name="Open conversations").click()
    await expect(sidebar).to_be_visible()
    await expect(page.get_by_role("button", name="New chat")).to_be_focused()
    await sidebar_links(page).first.click()
    await expect(sidebar).not_to_be_visible()
    await expect(page.get_by_text("Echo: A question asked on the phone")).to_be_visible()

    box = await composer(page).bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


async def test_escape_closes_the_phone_sidebar(open_page: OpenPage, stack: Stack) -> None:
    account = await stack.new_account()
    page = await open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    await log_in(page, account)
    await page.get_by_role("button", name="Open conversations").click()
    await expect(page.get_by_role("navigation", name="Conversations and settings")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(
        page.get_by_role("navigation", name="Conversations and settings")
    ).not_to_be_visible()
    await expect(page.get_by_role("button", name="Open conversations")).to_be_focused()


async def test_interface_language_follows_the_browser(open_page: OpenPage, stack: Stack) -> None:
    page = await open_page(locale="pt-BR")
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Entrar")).to_be_visible()
    await expect(page.get_by_label("Usuário")).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == "pt-BR"


async def test_interface_language_can_be_switched_and_is_remembered(
    open_page: OpenPage, stack: Stack
) -> None:
    account = await stack.new_account()
    page = await open_page(locale="en-US")
    await log_in(page, account)
    await page.get_by_label("Language").select_option("pt-BR")
    await expect(page.get_by_role("button", name="Nova conversa")).to_be_visible()
    await expect(page.get_by_role("textbox", name="Mensagem")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("button", name="Sair")).to_be_visible()
    await page.get_by_label("Idioma").select_option("en")
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()


async def test_theme_follows_the_system_and_can_be_chosen(
    open_page: OpenPage, stack: Stack
) -> None:
    page = await open_page(color_scheme="dark")
    await page.goto("/")
    background = "getComputedStyle(document.body).backgroundColor"
    await expect(page.get_by_label("Theme")).to_have_value("system")
    assert await page.evaluate(background) == DARK_BACKGROUND
    await page.get_by_label("Theme").select_option("light")
    assert await page.evaluate(background) == LIGHT_BACKGROUND
    await page.reload()
    await expect(page.get_by_label("Theme")).to_have_value("light")
    assert await page.evaluate(background) == LIGHT_BACKGROUND
    await page.emulate_media(color_scheme="light")
    await page.get_by_label("Theme").select_option("dark")
    assert await page.evaluate(background) == DARK_BACKGROUND
