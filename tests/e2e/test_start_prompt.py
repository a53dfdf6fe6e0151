"""Prompts started by the startPrompt mutation: a start whose reply the network loses is sent
again with the same clientId, and the model still gets the prompt once."""

from __future__ import annotations

import secrets

import pytest
from playwright.async_api import Page, Route, expect

from tests.e2e.pages import answers, log_in, posts, send
from tests.e2e.stack import Stack
from tests.standins import VLLMStandin
from tests.standins.vllm import last_user_message

pytestmark = pytest.mark.browser


async def test_a_start_whose_reply_is_lost_is_sent_again_and_the_model_gets_the_prompt_once(
    page: Page, stack: Stack, model: VLLMStandin
) -> None:
    account = await stack.new_account()
    await log_in(page, account)
    client_ids: list[str] = []

    async def lose_the_first_reply(route: Route) -> None:
        body = route.request.post_data_json or {}
        if "startPrompt" not in body.get("query", ""):
            await route.fallback()
            return
        client_ids.append(body["variables"]["clientId"])
        if len(client_ids) == 1:
            await route.fetch()  # the server takes the prompt and starts the answer...
            await route.abort("connectionreset")  # ...but its reply never arrives
        else:
            await route.fallback()

    await page.route("**/graphql", lose_the_first_reply)
    prompt = f"Only once {secrets.token_hex(3)}"
    await send(page, prompt)
    await expect(answers(page).last).to_have_text(f"Echo: {prompt}")
    await expect(posts(page)).to_have_count(1)
    assert len(client_ids) == 2
    assert client_ids[0] == client_ids[1]
    asked = [body for body in model.requests if last_user_message(body["messages"]) == prompt]
    assert len(asked) == 1
    await expect(page.locator("toast-stack .toast.error")).to_have_count(0)
