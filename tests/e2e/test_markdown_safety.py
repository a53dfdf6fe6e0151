"""Model output is untrusted: it renders as Markdown but can never run script, load a remote
image, or open a `javascript:` link."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, Request, expect

from tests.e2e.pages import answers, log_in
from tests.e2e.stack import Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser

REMOTE = "198.51.100.7"  # TEST-NET-2: never routable
HOSTILE_ANSWER = f"""**Bold** and a safe [docs link](https://example.org/docs).

<img src=x onerror="window.__pwned = 'img'">

<script>window.__pwned = 'script'</script>

[click me](javascript:window.__pwned='link')

<a href="javascript:window.__pwned='raw'">raw link</a>

![tracking pixel](http://{REMOTE}/pixel.png)

<iframe src="http://{REMOTE}/frame"></iframe> <svg onload="window.__pwned='svg'"></svg>
"""


async def test_hostile_model_answer_shows_as_inert_text_and_safe_links(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    model.queue_behaviour(Behaviour(text=HOSTILE_ANSWER))
    await stack.send_prompt(account, "Say something nasty")
    remote_requests: list[str] = []

    def record(request: Request) -> None:
        if REMOTE in request.url or request.url.startswith("javascript:"):
            remote_requests.append(request.url)

    page.on("request", record)
    await log_in(page, account)
    await page.get_by_role("link", name="Say something nasty").click()
    answer = answers(page).first
    await expect(answer.locator("strong")).to_have_text("Bold")

    # Raw HTML is shown as text, not parsed.
    await expect(answer).to_contain_text("<img src=x onerror=")
    await expect(answer).to_contain_text("<script>window.__pwned = 'script'</script>")
    for tag in ("img", "script", "iframe", "svg", "object", "embed"):
        await expect(answer.locator(f".content {tag}")).to_have_count(0)

    # A javascript: link loses its target; a web link opens safely elsewhere.
    click_me = answer.get_by_text("click me", exact=True)
    await expect(click_me).not_to_have_attribute("href", "javascript:window.__pwned='link'")
    assert await click_me.get_attribute("href") is None
    await click_me.click()
    docs = answer.get_by_role("link", name="docs link")
    await expect(docs).to_have_attribute("href", "https://example.org/docs")
    await expect(docs).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(docs).to_have_attribute("target", "_blank")

    # A Markdown image becomes a link to it: nothing is fetched.
    await expect(answer.get_by_role("link", name="tracking pixel")).to_have_attribute(
        "href", f"http://{REMOTE}/pixel.png"
    )
    for href in await answer.locator("a[href]").evaluate_all("links => links.map(a => a.href)"):
        assert href.startswith(("https:", "http:")), href

    await page.wait_for_timeout(300)  # let any stray handler run before looking for its effect
    assert await page.evaluate("window.__pwned") is None
    assert remote_requests == []
