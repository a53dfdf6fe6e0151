"""Staying signed in across tabs ("keep me signed in"), and the account settings: the
password changed (the other sessions end), the sessions listed and ended."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import answers, composer, log_in, send
from tests.e2e.stack import Account, Stack

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"


async def log_in_kept(page: Page, account: Account) -> None:
    await page.goto("/")
    await page.get_by_label("Username").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_label("Keep me signed in").check()
    await page.get_by_role("button", name="Log in").click()
    await expect(composer(page)).to_be_visible()


def login_heading(page: Page) -> Locator:
    return page.get_by_role("heading", name="Log in")


async def test_a_new_tab_stays_signed_in_when_kept(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in_kept(page, account)
    tab = await page.context.new_page()
    await tab.goto("/")
    await expect(composer(tab)).to_be_visible()
    await expect(login_heading(tab)).to_have_count(0)
    # Page scripts never see the long-lived secret: only a hint and a short-lived token.
    cookies = await page.context.cookies()
    kept = [cookie for cookie in cookies if cookie["name"] == "chat_refresh"]
    assert len(kept) == 1
    assert kept[0]["httpOnly"]
    assert kept[0]["sameSite"] == "Strict"
    assert "chat_refresh" not in await tab.evaluate("document.cookie")
    assert kept[0]["value"] not in await tab.evaluate("JSON.stringify(localStorage)")
    await tab.close()


async def test_without_keep_me_signed_in_a_new_tab_asks_again(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    tab = await page.context.new_page()
    await tab.goto("/")
    await expect(login_heading(tab)).to_be_visible()
    await tab.close()


async def test_logout_in_one_tab_signs_out_the_others(page: Page, stack: Stack) -> None:
    account = await stack.new_account()
    await log_in_kept(page, account)
    tab = await page.context.new_page()
    await tab.goto("/")
    await expect(composer(tab)).to_be_visible()

    await page.get_by_role("button", name="Log out").click()
    await expect(login_heading(page)).to_be_visible()
    await expect(login_heading(tab)).to_be_visible()
    await expect(tab.get_by_text("You are logged out.")).to_be_visible()
    await tab.screenshot(path="test-artifacts/signed-out-in-another-tab.png")
    # Reloaded, nothing is kept any more.
    await tab.reload()
    await expect(login_heading(tab)).to_be_visible()
    await tab.close()


async def open_account(page: Page) -> None:
    await page.get_by_role("button", name="Account").click()
    await expect(page.get_by_role("dialog", name="Account")).to_be_visible()


async def test_changing_the_password_ends_the_other_sessions(
    open_page: OpenPage, stack: Stack
) -> None:
    account = await stack.new_account()
    other = await open_page()
    await log_in_kept(other, account)
    page = await open_page()
    await log_in(page, account)

    await open_account(page)
    dialog = page.get_by_role("dialog", name="Account")
    await dialog.get_by_label("Current password").fill("not my password")
    await dialog.get_by_label("New password").fill(NEW_PASSWORD)
    await dialog.get_by_role("button", name="Change password").click()
    await expect(dialog.get_by_role("alert")).to_have_text("The current password is wrong.")

    await dialog.get_by_label("Current password").fill(account.password)
    await dialog.get_by_label("New password").fill(NEW_PASSWORD)
    await dialog.get_by_role("button", name="Change password").click()
    await expect(page.get_by_text("Password changed.")).to_be_visible()
    await expect(dialog.get_by_role("listitem")).to_have_count(1)
    await page.screenshot(path="test-artifacts/account-settings.png")

    # The other browser is signed out at its next request, kept signed in or not.
    await send(other, "Am I still here?")
    await expect(login_heading(other)).to_be_visible()
    await other.reload()
    await expect(login_heading(other)).to_be_visible()
    # This one stays.
    await page.keyboard.press("Escape")
    await send(page, "Still here")
    await expect(answers(page).last).to_contain_text("Echo: Still here")


async def test_the_account_settings_list_the_sessions_and_end_another(
    open_page: OpenPage, stack: Stack
) -> None:
    account = await stack.new_account()
    other = await open_page(user_agent="OtherBrowser/2.0")
    await log_in(other, account)
    page = await open_page()
    await log_in(page, account)

    await open_account(page)
    sessions = page.get_by_role("dialog", name="Account").get_by_role("listitem")
    # This one, the other browser, and the sign-up's own session.
    await expect(sessions).to_have_count(3)
    await expect(sessions.filter(has_text="This device")).to_have_count(1)
    await (
        sessions.filter(has_text="OtherBrowser/2.0")
        .get_by_role("button", name="End the session of OtherBrowser/2.0")
        .click()
    )
    await expect(sessions).to_have_count(2)
    await expect(sessions.filter(has_text="OtherBrowser/2.0")).to_have_count(0)
    await expect(page.get_by_text("Session ended.")).to_be_visible()

    await send(other, "Am I still here?")
    await expect(login_heading(other)).to_be_visible()
