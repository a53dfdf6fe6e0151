"""A password an admin reset is one-time: the page asks for a new one before anything else."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.pages import composer
from tests.e2e.stack import Stack
from tests.e2e.test_admin_and_usage import new_admin, user_id

pytestmark = pytest.mark.browser

RESET = "mutation($id: ID!) { resetUserPassword(id: $id) { password } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
ME = "{ me { passwordChangeRequired } }"
NEW_PASSWORD = "a password of my own"


async def test_login_with_a_reset_password_asks_for_a_new_one_before_the_chat(
    page: Page, stack: Stack
) -> None:
    admin = await new_admin(stack)
    bob = await stack.new_account("bob")
    reset = await stack.gql(RESET, {"id": await user_id(stack, bob)}, admin.token)
    one_time = reset["resetUserPassword"]["password"]

    await page.goto("/")
    await page.get_by_label("Username").fill(bob.username)
    await page.get_by_label("Password").fill(one_time)
    await page.get_by_role("button", name="Log in").click()
    heading = page.get_by_role("heading", name="Choose a new password")
    await expect(heading).to_be_visible()
    await expect(page.get_by_label("New password", exact=True)).to_be_focused()
    # The password just typed is used: it is not asked for again.
    await expect(page.get_by_label("The password you were given")).to_have_count(0)
    await expect(page.get_by_text("8 to 1024 characters.")).to_be_visible()
    await page.keyboard.press("Escape")
    await page.keyboard.press("Escape")
    await expect(heading).to_be_visible()
    await expect(composer(page)).to_have_count(0)

    # Loaded again, the page still asks, and for the given password too.
    await page.reload()
    await expect(heading).to_be_visible()
    await expect(composer(page)).to_have_count(0)
    await page.get_by_label("The password you were given").fill(one_time)
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("New password again").fill(NEW_PASSWORD + "!")
    await page.get_by_role("button", name="Set my password").click()
    await expect(page.get_by_role("alert")).to_have_text("The two new passwords are not the same.")
    await expect(heading).to_be_visible()

    await page.get_by_label("New password again").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set my password").click()
    await expect(composer(page)).to_be_visible()
    await expect(heading).to_have_count(0)
    refused = await stack.response(LOGIN, {"u": bob.username, "p": one_time})
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    token = (await stack.gql(LOGIN, {"u": bob.username, "p": NEW_PASSWORD}))["login"]["token"]
    assert (await stack.gql(ME, token=token))["me"]["passwordChangeRequired"] is False


async def test_the_new_password_page_lets_its_reader_log_out(page: Page, stack: Stack) -> None:
    admin = await new_admin(stack)
    cleo = await stack.new_account("cleo")
    reset = await stack.gql(RESET, {"id": await user_id(stack, cleo)}, admin.token)
    await page.goto("/")
    await page.get_by_label("Username").fill(cleo.username)
    await page.get_by_label("Password").fill(reset["resetUserPassword"]["password"])
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await expect(page.get_by_text("You are logged out.")).to_be_visible()
