"""Frontend benchmark: JavaScript shipped on first load, and time to an interactive chat page.

    python bench/bench_frontend.py            # needs frontend/dist (make frontend) and Chromium

Starts the API as a process on SQLite with a stand-in model, seeds a user with a conversation
of 20 posts, then, in Chromium:

- First-load JavaScript: every script the browser fetches until the chat page is ready,
  gzipped (level 6, what a reverse proxy typically does), against the 80 KB target and
  against Open WebUI's login page measured on this machine (359 KB, see the guide).
- Time to interactive chat page on a warm server: from navigation start to the `chat-ready`
  performance mark (the conversation's posts rendered and the composer enabled), with a cold
  browser cache (fresh context each time) and a warm one (the same context reloaded). The
  baseline, measured in the same run, is a navigation to `/healthz` (one small JSON
  response): the floor for a round trip through this browser and server.

Exits 1 when the first-load JavaScript is over the target.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Response, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.stack import FRONTEND_DIST, Stack, start_stack
from tests.standins import VLLMStandin

CHROMIUM = "/usr/bin/chromium"
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
TARGET_JS_GZIP = 80 * 1024
OPEN_WEBUI_LOGIN_JS_GZIP = 359 * 1024
WARMUP = 3
RUNS = 20
SESSION_KEY = "chat.session"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def seed(stack: Stack) -> tuple[dict[str, Any], str]:
    """A user logged in over HTTP, and a conversation of 20 posts; returns (session, id)."""
    account = await stack.new_account("bench")
    data = await stack.gql(
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
        "{ token expiresAt user { id username } } }",
        {"u": account.username, "p": account.password},
    )
    first = await stack.send_prompt(account, "Question 0: what is a benchmark?")
    for number in range(1, 20):
        await stack.send_prompt(account, f"Question {number}: and then?", first["conversationId"])
    session: dict[str, Any] = data["login"]
    return session, first["conversationId"]


async def logged_in_page(browser: Browser, stack: Stack, session: dict[str, Any]) -> Page:
    context = await browser.new_context(base_url=stack.url)
    value = json.dumps(json.dumps(session))
    await context.add_init_script(f"sessionStorage.setItem({json.dumps(SESSION_KEY)}, {value})")
    return await context.new_page()


async def time_to_ready(page: Page, path: str) -> float:
    await page.goto(path)
    await page.wait_for_function("() => performance.getEntriesByName('chat-ready').length > 0")
    ready: float = await page.evaluate("performance.getEntriesByName('chat-ready')[0].startTime")
    return ready


async def navigation_time(page: Page, path: str) -> float:
    await page.goto(path)
    duration: float = await page.evaluate(
        "performance.getEntriesByType('navigation')[0].responseEnd"
    )
    return duration


async def first_load_scripts(
    browser: Browser, stack: Stack, session: dict[str, Any], path: str
) -> dict[str, bytes]:
    page = await logged_in_page(browser, stack, session)
    bodies: dict[str, bytes] = {}
    pending: list[asyncio.Task[None]] = []

    async def keep(response: Response) -> None:
        bodies[response.url] = await response.body()

    page.on(
        "response",
        lambda response: (
            pending.append(asyncio.ensure_future(keep(response)))
            if response.request.resource_type == "script"
            else None
        ),
    )
    await time_to_ready(page, path)
    await page.wait_for_load_state("networkidle")
    await asyncio.gather(*pending)
    await page.context.close()
    return bodies


async def run(stack: Stack) -> bool:
    session, conversation_id = await seed(stack)
    chat_path = f"/#/c/{conversation_id}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        scripts = await first_load_scripts(browser, stack, session, chat_path)
        raw = sum(len(body) for body in scripts.values())
        zipped = sum(len(gzip.compress(body, compresslevel=6)) for body in scripts.values())
        print(
            f"First-load JavaScript (chat page, logged in): {len(scripts)} files, "
            f"{raw / 1024:.1f} KB raw, {zipped / 1024:.1f} KB gzipped"
        )
        for url, body in sorted(scripts.items()):
            print(
                f"  {url.rsplit('/', 1)[-1]}: {len(gzip.compress(body, 6)) / 1024:.1f} KB gzipped"
            )
        print(f"  ratio to the 80 KB target: {zipped / TARGET_JS_GZIP:.2f}")
        print(
            f"  ratio to Open WebUI's login page (359 KB): {zipped / OPEN_WEBUI_LOGIN_JS_GZIP:.2f}"
        )

        baseline_page = await logged_in_page(browser, stack, session)
        for _ in range(WARMUP):
            await navigation_time(baseline_page, "/healthz")
        baseline = [await navigation_time(baseline_page, "/healthz") for _ in range(RUNS)]
        await baseline_page.context.close()

        cold: list[float] = []
        for index in range(WARMUP + RUNS):
            page = await logged_in_page(browser, stack, session)
            elapsed = await time_to_ready(page, chat_path)
            await page.context.close()
            if index >= WARMUP:
                cold.append(elapsed)

        warm_page = await logged_in_page(browser, stack, session)
        warm: list[float] = []
        for index in range(WARMUP + RUNS):
            await warm_page.goto("/healthz")  # leave, so that the next goto is a fresh load
            elapsed = await time_to_ready(warm_page, chat_path)
            if index >= WARMUP:
                warm.append(elapsed)
        await browser.close()
    await stack.http.aclose()

    base = statistics.median(baseline)
    print(f"\nNavigation to an interactive chat page (20 posts), {RUNS} runs each, ms:")
    print(f"  baseline /healthz navigation: p50 {base:.1f}, p95 {percentile(baseline, 0.95):.1f}")
    for label, values in (("cold browser cache", cold), ("warm browser cache", warm)):
        p50 = statistics.median(values)
        print(
            f"  {label}: p50 {p50:.1f}, p95 {percentile(values, 0.95):.1f}, "
            f"ratio to baseline p50 {p50 / base:.1f}x"
        )
    return zipped <= TARGET_JS_GZIP


def main() -> None:
    if not (FRONTEND_DIST / "index.html").is_file():
        sys.exit("frontend/dist is missing: run `make frontend` first")
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with VLLMStandin(model="bench-model") as llm, tempfile.TemporaryDirectory() as tmp:
        stack, processes = start_stack(Path(tmp), llm)
        try:
            within_target = asyncio.run(run(stack))
        finally:
            for process in reversed(processes):
                process.stop()
    if not within_target:
        sys.exit("First-load JavaScript is over the 80 KB target")


if __name__ == "__main__":
    main()
