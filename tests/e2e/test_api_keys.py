"""The API keys dialog in a real browser: make a key (shown once, copied), use it, revoke it."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import log_in
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser


async def models_status(stack: Stack, key: str) -> int:
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        reply = await http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    return reply.status_code


async def test_api_keys_dialog_creates_a_key_shown_once_lists_and_revokes_it(
    page: Page, stack: Stack
) -> None:
    alice = await stack.new_account("alice")
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await log_in(page, alice)
    await page.get_by_role("button", name="API keys").click()
    dialog = page.get_by_role("dialog", name="API keys")
    await expect(dialog.get_by_text("You have no API keys.")).to_be_visible()
    await dialog.get_by_label("Key name").fill("nightly <b>backup</b>")
    await dialog.get_by_role("button", name="Create key").click()
    await expect(dialog.get_by_role("alert")).to_contain_text("shown only once")
    key = await dialog.get_by_label("Your new key").input_value()
    assert key.startswith("e2c_")
    await dialog.get_by_role("button", name="Copy").click()
    assert await page.evaluate("navigator.clipboard.readText()") == key
    keys = dialog.get_by_role("list", name="Your API keys")
    # The name is text, not markup.
    await expect(keys.locator("li .name")).to_have_text("nightly <b>backup</b>")
    assert await models_status(stack, key) == 200

    # Closed and opened again: the key is listed, never shown again.
    await dialog.get_by_role("button", name="Close API keys").click()
    await page.get_by_role("button", name="API keys").click()
    await expect(keys.locator("li")).to_have_count(1)
    await expect(dialog.get_by_label("Your new key")).to_have_count(0)
    await dialog.get_by_role("button", name="Revoke the key nightly <b>backup</b>").click()
    await expect(dialog.get_by_text("You have no API keys.")).to_be_visible()
    assert await models_status(stack, key) == 401


async def test_api_keys_dialog_fits_a_phone(open_page: OpenPage, stack: Stack) -> None:
    alice = await stack.new_account("alice")
    page = await open_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    await log_in(page, alice)
    await page.get_by_role("button", name="Open conversations").click()
    await page.get_by_role("button", name="API keys").click()
    dialog = page.get_by_role("dialog", name="API keys")
    await dialog.get_by_label("Key name").fill("phone")
    await dialog.get_by_role("button", name="Create key").click()
    await expect(dialog.get_by_label("Your new key")).to_be_visible()
    fits = await dialog.evaluate("(dialog) => dialog.scrollWidth <= dialog.clientWidth + 1")
    assert fits, "the API keys dialog scrolls sideways on a phone"
