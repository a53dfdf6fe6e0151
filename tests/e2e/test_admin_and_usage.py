"""The usage panel, the admin page, and the composer at a quota, in a real browser."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import answers, composer, log_in, send
from tests.e2e.stack import Account, Stack
from tests.standins import VLLMStandin
from tests.support import ROOT

pytestmark = pytest.mark.browser

UPDATE = "mutation($id: ID!, $q: Int) { updateUser(id: $id, dailyTokenQuota: $q) { id } }"
ME = "{ me { id } }"


def promote(stack: Stack, account: Account) -> None:
    """`python -m graphql_api users promote`, as an operator makes an admin."""
    done = subprocess.run(
        [sys.executable, "-m", "graphql_api", "users", "promote", account.username],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": stack.api.env["DATABASE_URL"], "JWT_SECRET": "x" * 40},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def new_admin(stack: Stack) -> Account:
    account = await stack.new_account("admin")
    await asyncio.to_thread(promote, stack, account)
    return account


async def user_id(stack: Stack, account: Account) -> str:
    data = await stack.gql(ME, token=account.token)
    value: str = data["me"]["id"]
    return value


async def test_usage_panel_shows_tokens_per_day_as_a_chart_and_the_quota(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    admin = await new_admin(stack)
    alice = await stack.new_account("alice")
    await stack.send_prompt(alice, "count these tokens please")
    await stack.gql(UPDATE, {"id": await user_id(stack, alice), "q": 100000}, admin.token)
    await log_in(page, alice)
    await page.get_by_role("button", name="Usage").click()
    panel = page.get_by_role("dialog", name="Your usage")
    await expect(panel).to_be_visible()
    chart = panel.get_by_role("img", name="Tokens per day over the last 30 days")
    await expect(chart).to_be_visible()
    assert await panel.locator("usage-chart rect").count() == 30
    heights = [
        float(await bar.get_attribute("height") or 0)
        for bar in await panel.locator("usage-chart rect").all()
    ]
    assert heights[-1] > 0
    assert all(height == 0 for height in heights[:-1])
    await expect(panel.locator(".daily")).to_contain_text("left of 100,000")
    await expect(panel.locator(".resets")).not_to_be_empty()
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()


async def test_plain_user_sees_no_admin_page(page: Page, stack: Stack) -> None:
    alice = await stack.new_account("plain")
    await log_in(page, alice)
    await expect(page.get_by_role("button", name="Usage")).to_be_visible()
    await expect(page.get_by_role("button", name="Admin")).to_have_count(0)


async def test_admin_page_searches_disables_sets_a_quota_resets_a_password_and_shows_the_audit(
    page: Page, stack: Stack
) -> None:
    admin = await new_admin(stack)
    bob = await stack.new_account("bobby")
    await log_in(page, admin)
    await page.get_by_role("button", name="Admin").click()
    dialog = page.get_by_role("dialog", name="Administration")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("searchbox", name="Search users").fill(bob.username)
    card = dialog.locator(f'li[data-user="{bob.username}"]')
    await expect(card).to_be_visible()
    await expect(dialog.locator("li.user")).to_have_count(1)

    await card.get_by_role("button", name="Disable").click()
    await expect(card.get_by_role("button", name="Enable")).to_be_visible()
    refused = await stack.response(ME, token=bob.token)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    await card.get_by_role("textbox", name="Tokens per day").fill("12x")
    await card.get_by_role("button", name="Save quotas").click()
    await expect(card.get_by_text("A whole number of tokens")).to_be_visible()
    await card.get_by_role("textbox", name="Tokens per day").fill("5000")
    await card.get_by_role("button", name="Save quotas").click()
    await expect(card.get_by_role("textbox", name="Tokens per day")).to_have_value("5000")

    await card.get_by_role("button", name="Reset password").click()
    await page.get_by_role("dialog").get_by_role("button", name="Reset password").last.click()
    shown = card.locator(".password code")
    await expect(shown).not_to_be_empty()
    password = await shown.inner_text()
    assert len(password) >= 12

    await dialog.get_by_role("tab", name="Audit log").click()
    entries = dialog.locator("li.entry")
    await expect(entries.first).to_contain_text("reset the password of")
    await expect(entries.first).to_contain_text(bob.username)
    await expect(dialog.locator("li.entry", has_text='"disabled":true')).to_have_count(1)


async def test_admin_page_fits_a_phone(open_page: OpenPage, stack: Stack) -> None:
    admin = await new_admin(stack)
    page = await open_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    await log_in(page, admin)
    await page.get_by_role("button", name="Open conversations").click()
    await page.get_by_role("button", name="Admin").click()
    dialog = page.get_by_role("dialog", name="Administration")
    await expect(dialog.locator("li.user").first).to_be_visible()
    fits = await dialog.evaluate("(dialog) => dialog.scrollWidth <= dialog.clientWidth + 1")
    assert fits, "the admin page scrolls sideways on a phone"


async def test_composer_says_plainly_when_the_quota_is_reached(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    admin = await new_admin(stack)
    alice = await stack.new_account("quota")
    await stack.gql(UPDATE, {"id": await user_id(stack, alice), "q": 0}, admin.token)
    await log_in(page, alice)
    await send(page, "will this work?")
    alert = page.get_by_text("You have used your daily quota of 0 tokens. It resets at")
    await expect(alert).to_be_visible()
    await expect(answers(page)).to_have_count(0)
    await expect(composer(page)).to_be_visible()


async def test_a_disabled_user_is_told_so_at_login(page: Page, stack: Stack) -> None:
    admin = await new_admin(stack)
    carol = await stack.new_account("disabled")
    await stack.gql(
        "mutation($id: ID!) { updateUser(id: $id, disabled: true) { id } }",
        {"id": await user_id(stack, carol)},
        admin.token,
    )
    await page.goto("/")
    await page.get_by_label("Username").fill(carol.username)
    await page.get_by_label("Password").fill(carol.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "This account is disabled. Ask an administrator."
    )
