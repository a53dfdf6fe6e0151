"""What browser tests do on the chat page, in the words a user would use.

await log_in(page, account)
await send(page, "Hello")
await expect(answers(page).last).to_contain_text("Echo: Hello")
"""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

from tests.e2e.stack import Account


async def log_in(page: Page, account: Account) -> None:
    await page.goto("/")
    await page.get_by_label("Username").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(composer(page)).to_be_visible()


def composer(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Message", exact=True)


async def send(page: Page, prompt: str) -> None:
    await composer(page).fill(prompt)
    await composer(page).press("Enter")


def posts(page: Page) -> Locator:
    return page.locator("post-item")


def answers(page: Page) -> Locator:
    return page.locator("post-item markdown-view")


def sidebar_links(page: Page) -> Locator:
    return page.get_by_role("list", name="Conversations").get_by_role("link")
