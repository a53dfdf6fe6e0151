"""What browser tests do on the chat page, in the words a user would use.

await log_in(page, account)
await send(page, "Hello")
await expect(answers(page).last).to_contain_text("Echo: Hello")
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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


def numbered_tokens(count: int) -> list[str]:
    """Tokens whose text shows, at any moment, exactly which ones have arrived."""
    return [f" t{number}" for number in range(count)]


async def answer_text(page: Page) -> str:
    """The rendered text of the last answer (inside markdown-view's shadow root)."""
    return (await answers(page).last.locator(".content").inner_text()).strip()


async def wait_for_text(page: Page, predicate: Callable[[str], bool], timeout: float = 10) -> str:
    """Poll the last answer until `predicate(text)` holds; return that text."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        text = await answer_text(page)
        if predicate(text):
            return text
        assert asyncio.get_running_loop().time() < deadline, f"last answer stayed {text!r}"
        await asyncio.sleep(0.03)
