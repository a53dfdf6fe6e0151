"""Picking a model per conversation in the page, regenerating with another model, and two
models' answers to one prompt side by side. The real gateway (GATEWAY_MODELS) fronts two
vLLM stand-ins, "big" and "small" (the API's DEFAULT_MODEL), and "spare", whose only server
is down and out of rotation: listed as unable to answer now."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.pages import answers, log_in, posts, send
from tests.e2e.stack import Stack, start_api
from tests.standins import Behaviour, VLLMStandin
from tests.support import GatewayProcess, free_port

pytestmark = pytest.mark.browser

MODEL = "query($id: ID!) { conversation(id: $id) { model } }"


@dataclass
class TwoModels:
    stack: Stack
    big: VLLMStandin
    small: VLLMStandin


def models_file(big: VLLMStandin, small: VLLMStandin, down_url: str) -> str:
    return f"""
models:
  - name: big
    backend: vllm
    base_url: {big.base_url}
  - name: small
    backend: vllm
    base_url: {small.base_url}
  - name: spare
    backend: vllm
    base_url: {down_url}
    max_retries: 0
    failures_to_eject: 1
    eject_seconds: 600
"""


@pytest.fixture(scope="module")
async def two_models(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TwoModels]:
    directory = tmp_path_factory.mktemp("models")
    with VLLMStandin(model="big") as big, VLLMStandin(model="small") as small:
        path = directory / "models.yaml"
        path.write_text(models_file(big, small, f"http://127.0.0.1:{free_port()}/v1"))
        with GatewayProcess(
            big.base_url, directory / "gateway.log", GATEWAY_MODELS=str(path)
        ) as gw:
            # One failed request takes spare's only server out of rotation.
            async with httpx.AsyncClient(base_url=gw.url) as client:
                chat = {"model": "spare", "messages": [{"role": "user", "content": "hi"}]}
                assert (await client.post("/v1/chat/completions", json=chat)).status_code >= 500
                listed = (await client.get("/v1/models")).json()["data"]
                assert [m["available"] for m in listed] == [True, True, False]
            stack = start_api(directory, gw.url, DEFAULT_MODEL="small")
            yield TwoModels(stack, big, small)
            await stack.http.aclose()
            stack.api.stop()


def answer_model(page: Page, index: int = -1) -> Locator:
    """The model's name shown on an answer (the last one by default)."""
    return page.locator("post-item").nth(index).locator(".meta")


async def test_the_model_picker_sets_the_conversations_model_and_answers_come_from_it(
    open_page: OpenPage, two_models: TwoModels
) -> None:
    stack, big, small = two_models.stack, two_models.big, two_models.small
    account = await stack.new_account()
    page = await open_page(base_url=stack.url)
    await log_in(page, account)
    picker = page.get_by_role("combobox", name="Model")
    await expect(picker).to_have_value("small")
    await expect(picker.locator("option")).to_have_text(
        ["big", "small (default)", "spare (cannot answer now)"]
    )
    await expect(picker.locator("option", has_text="spare")).to_be_disabled()

    await picker.select_option("big")
    asked = (len(big.requests), len(small.requests))
    big.queue_behaviour(Behaviour(text="Big thinks so."), Behaviour(text="Big again."))
    await send(page, "Which model are you?")
    await expect(answers(page).last).to_have_text("Big thinks so.")
    await expect(answer_model(page)).to_have_text("big")
    await send(page, "And now?")
    await expect(answers(page).last).to_have_text("Big again.")
    assert (len(big.requests), len(small.requests)) == (asked[0] + 2, asked[1])

    # The conversation keeps its model across a reload; changing it changes where prompts go.
    await page.reload()
    await expect(picker).to_have_value("big")
    await picker.select_option("small")
    small.queue_behaviour(Behaviour(text="Small here."))
    await send(page, "Who answers this?")
    await expect(answers(page).last).to_have_text("Small here.")
    await expect(answer_model(page)).to_have_text("small")
    await expect(answer_model(page, 0)).to_have_text("big")
    await page.reload()
    await expect(picker).to_have_value("small")
    conversation_id = page.url.rsplit("/", 1)[1]
    data = await stack.gql(MODEL, {"id": conversation_id}, account.token)
    assert data["conversation"]["model"] == "small"


async def test_regenerate_with_another_model_shows_both_answers_side_by_side(
    open_page: OpenPage, two_models: TwoModels
) -> None:
    stack, big, small = two_models.stack, two_models.big, two_models.small
    account = await stack.new_account()
    page = await open_page(base_url=stack.url, viewport={"width": 1440, "height": 900})
    await log_in(page, account)
    small.queue_behaviour(Behaviour(text="A small answer."))
    await send(page, "Explain tides")
    await expect(answers(page).last).to_have_text("A small answer.")

    big.queue_behaviour(Behaviour(text="A big, thorough answer."))
    post = posts(page).last
    await post.get_by_role("button", name="Regenerate with…").click()
    choices = post.get_by_role("list", name="Regenerate with…")
    await expect(choices.get_by_role("button", name="spare")).to_be_disabled()
    await choices.get_by_role("button", name="big").click()
    await expect(answers(page).last).to_have_text("A big, thorough answer.")
    await expect(post.get_by_role("group", name="Versions")).to_contain_text("Version 2 of 2")

    await post.get_by_role("button", name="Compare versions").click()
    other = post.get_by_role("region", name="Another version")
    await expect(other.locator("markdown-view")).to_have_text("A small answer.")
    await expect(other).to_contain_text("small")
    mine = await post.locator(".answer markdown-view").bounding_box()
    theirs = await other.locator("markdown-view").bounding_box()
    assert mine
    assert theirs
    assert theirs["x"] >= mine["x"] + mine["width"], "the versions are not side by side"
    assert abs(theirs["y"] - mine["y"]) < 80

    await other.get_by_role("button", name="Close comparison").click()
    await expect(other).to_have_count(0)
    # On a phone the answers stay one under another: there is no room to compare.
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(post.get_by_role("button", name="Compare versions")).to_be_hidden()


async def test_the_model_picker_fits_a_phone(open_page: OpenPage, two_models: TwoModels) -> None:
    phone = {"width": 375, "height": 740}
    account = await two_models.stack.new_account()
    page = await open_page(base_url=two_models.stack.url, viewport=phone, is_mobile=True)
    await log_in(page, account)
    picker = page.get_by_role("combobox", name="Model")
    await expect(picker).to_be_visible()
    box = await picker.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= phone["width"]
    await expect(page.get_by_role("button", name="Open conversations")).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= phone["width"]
