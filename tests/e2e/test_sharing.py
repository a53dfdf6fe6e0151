"""Share links in the browser (the shared page, the share dialog), and export and import."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import log_in, sidebar_links
from tests.e2e.stack import Account, Stack
from tests.e2e.test_markdown_safety import HOSTILE_ANSWER, REMOTE
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "chatgpt_conversations.json"
SHARE = "mutation($id: ID!) { shareConversation(id: $id) { id url } }"
SHARED = "query($t: String!) { sharedConversation(token: $t) { title } }"


async def shared_link(stack: Stack, account: Account, *prompts: str) -> str:
    """The path of a new share of a conversation made of `prompts`."""
    conversation_id = None
    for prompt in prompts:
        conversation_id = (await stack.send_prompt(account, prompt, conversation_id))[
            "conversationId"
        ]
    data = await stack.gql(SHARE, {"id": conversation_id}, account.token)
    url: str = data["shareConversation"]["url"]
    return "/s/" + url.rsplit("/s/", 1)[1]


async def test_shared_page_needs_no_login_is_noindex_and_says_it_is_a_shared_copy(
    open_page: OpenPage, stack: Stack, model: VLLMStandin
) -> None:
    owner = await stack.new_account("owner")
    path = await shared_link(stack, owner, "What is **Lisbon** known for?")
    for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        page = await open_page(viewport=viewport)
        response = await page.goto(path)
        assert response is not None
        assert response.headers["x-robots-tag"] == "noindex, nofollow"
        robots = page.locator('meta[name="robots"]')
        await expect(robots).to_have_attribute("content", "noindex, nofollow")
        await expect(page.get_by_text("A shared copy: a read-only snapshot")).to_be_visible()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "What is **Lisbon** known for?"
        )
        await expect(page.locator("shared-page article markdown-view")).to_contain_text(
            "Echo: What is Lisbon known for?"
        )
        # A reader who is not signed in is offered to log in, not to continue.
        await expect(page.get_by_role("link", name="Log in to continue")).to_be_visible()
        await expect(page.get_by_role("button", name="Continue this conversation")).to_have_count(0)
        assert owner.username not in await page.content()
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0


async def test_shared_page_runs_no_script_from_hostile_model_output(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    owner = await stack.new_account()
    model.queue_behaviour(Behaviour(text=HOSTILE_ANSWER))
    path = await shared_link(stack, owner, "Say something nasty")
    fetched: list[str] = []
    page.on(
        "request", lambda request: fetched.append(request.url) if REMOTE in request.url else None
    )
    await page.goto(path)
    answer = page.locator("shared-page article markdown-view").first
    await expect(answer.locator("strong")).to_have_text("Bold")
    await expect(answer).to_contain_text("<script>window.__pwned = 'script'</script>")
    for tag in ("img", "script", "iframe", "svg"):
        await expect(answer.locator(f".content {tag}")).to_have_count(0)
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.__pwned") is None
    assert fetched == []


async def test_an_unknown_or_revoked_link_says_it_does_not_exist(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    await page.goto("/s/this-link-was-never-made")
    await expect(page.get_by_text("This link does not exist or was revoked.")).to_be_visible()
    await expect(page.get_by_role("link", name="Open the chat")).to_have_attribute("href", "/")


async def test_a_signed_in_reader_continues_the_conversation_in_their_own_account(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    owner, reader = await stack.new_account("owner"), await stack.new_account("reader")
    path = await shared_link(stack, owner, "first shared question", "second shared question")
    await log_in(page, reader)
    await page.goto(path)
    await page.get_by_role("button", name="Continue this conversation").click()
    await page.wait_for_url("**/#/c/*")
    await expect(page.locator("post-item")).to_have_count(2)
    await expect(page.locator("post-item").last).to_contain_text("second shared question")
    await expect(sidebar_links(page).first).to_contain_text("first shared question")


async def test_a_reader_who_logs_in_from_the_shared_page_continues_the_conversation(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    owner, reader = await stack.new_account("owner"), await stack.new_account("reader")
    path = await shared_link(stack, owner, "continue me after login")
    await page.goto(path)
    await page.get_by_role("link", name="Log in to continue").click()
    await log_in_here(page, reader)
    await page.wait_for_url("**/#/c/*")
    await expect(page.locator("post-item")).to_have_count(1)
    await expect(page.locator("post-item").first).to_contain_text("continue me after login")


async def log_in_here(page: Page, account: Account) -> None:
    """Log in on the login page already open (not going to `/` again)."""
    await page.get_by_label("Username").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Log in").click()


async def test_share_dialog_copies_the_link_shows_when_it_was_made_and_revokes_it(
    open_page: OpenPage, stack: Stack, model: VLLMStandin
) -> None:
    page = await open_page(permissions=["clipboard-read", "clipboard-write"])
    owner = await stack.new_account()
    await stack.send_prompt(owner, "share me please")
    await log_in(page, owner)
    await page.get_by_role("link", name="share me please").click()
    await page.get_by_role("button", name="Share", exact=True).click()
    dialog = page.get_by_role("dialog", name="Share “share me please”")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_text("No links yet.")).to_be_visible()
    await dialog.get_by_role("button", name="Create a link").click()
    link = dialog.get_by_role("textbox", name="Link made")
    await expect(link).to_have_value(
        re.compile(re.escape(f"{stack.url}/s/") + r"[A-Za-z0-9_-]{32}$")
    )
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == await link.input_value()
    await expect(dialog.get_by_text("· 1 messages")).to_be_visible()
    # The link works for anyone, until it is revoked.
    token = copied.rsplit("/s/", 1)[1]
    assert (await stack.gql(SHARED, {"t": token}))["sharedConversation"]
    await dialog.get_by_role("button", name="Revoke the link made").click()
    await expect(dialog.get_by_text("No links yet.")).to_be_visible()
    assert (await stack.gql(SHARED, {"t": token}))["sharedConversation"] is None
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("button", name="Share", exact=True)).to_be_focused()


async def test_export_and_import_from_the_sidebar(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    await stack.send_prompt(account, "exported question")
    await log_in(page, account)
    await page.get_by_role("button", name="Export and import").click()
    dialog = page.get_by_role("dialog", name="Your data")
    async with page.expect_download() as started:
        await dialog.get_by_role("button", name="All conversations (JSON)").click()
    download = await started.value
    assert download.suggested_filename.endswith(".json")
    exported = json.loads(Path(await download.path()).read_text())
    assert exported["format_version"] == 1
    assert exported["conversations"][0]["posts"][0]["prompt"] == "exported question"

    await dialog.get_by_label("Import a file").set_input_files(str(FIXTURE))
    await expect(dialog.get_by_text("Imported 2 conversations")).to_be_visible()
    await expect(dialog.get_by_text("“Broken export”: damaged in the file")).to_be_visible()
    await dialog.get_by_role("button", name="Close").click()
    await expect(sidebar_links(page).filter(has_text="Trip to Lisbon")).to_have_count(1)

    # With a conversation open, that one alone, as Markdown.
    await sidebar_links(page).filter(has_text="exported question").click()
    await page.get_by_role("button", name="Export and import").click()
    async with page.expect_download() as started:
        await dialog.get_by_role("button", name="This conversation (Markdown)").click()
    markdown = Path(await (await started.value).path()).read_text()
    assert markdown.startswith("# exported question\n")
    assert "Echo: exported question" in markdown
