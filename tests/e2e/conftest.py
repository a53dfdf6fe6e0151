"""Browser tests: a real Chromium against the real API process, on loopback.

The model is the in-process vLLM stand-in from tests/conftest.py (`llm`, and `model`, which
resets its queue after each test), so a test can script a hostile or slow answer. The API runs
as `python -m graphql_api serve` on SQLite and serves the built frontend (`make frontend`).

    async def test_something(page: Page, stack: Stack, model: VLLMStandin) -> None:
        account = await stack.new_account()
        await log_in(page, account)

Every test's pages are screenshotted into test-artifacts/ when it ends, and a test fails if a
page threw an uncaught exception or the browser reported a Content-Security-Policy violation.
Without /usr/bin/chromium the tests skip, unless CI is set: then they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.e2e.stack import Stack, start_stack
from tests.standins import VLLMStandin

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
async def stack(llm: VLLMStandin, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The API with sign-up open, its model the shared stand-in."""
    stack, processes = start_stack(tmp_path_factory.mktemp("e2e"), llm)
    yield stack
    await stack.http.aclose()
    for process in reversed(processes):
        process.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing and CI is set (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


OpenPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_page(
    browser: Browser, stack: Stack, request: pytest.FixtureRequest, artifacts: Path
) -> AsyncIterator[OpenPage]:
    """Open a page in a fresh browser context (its own sessionStorage): `await open_page()`.

    Keyword arguments go to `browser.new_context` (viewport, locale, color_scheme, ...).
    """
    opened: list[tuple[BrowserContext, Page]] = []
    problems: list[str] = []

    async def open_(**options: Any) -> Page:
        options.setdefault("base_url", stack.url)
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = await browser.new_context(**options)
        page = await context.new_page()
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        opened.append((context, page))
        return page

    yield open_
    name = request.node.name.replace("/", "_")
    for index, (context, page) in enumerate(opened):
        suffix = f"-{index + 1}" if len(opened) > 1 else ""
        if not page.is_closed():
            await page.screenshot(path=artifacts / f"{name}{suffix}.png", full_page=False)
        await context.close()
    assert not problems, problems


@pytest.fixture
async def page(open_page: OpenPage) -> Page:
    """A desktop-sized page on the API's origin."""
    return await open_page()
