"""Answers streamed through a real nginx in front of the API (Debian's package, on loopback):
as docker/nginx.conf configures it, over WebSocket; and where the proxy refuses or cuts
WebSocket, over HTTP multipart subscriptions, which the page falls back to by itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.deploy.nginx import NginxProxy
from tests.e2e.conftest import OpenPage
from tests.e2e.pages import (
    answer_text,
    composer,
    log_in,
    numbered_tokens,
    posts,
    send,
    wait_for_text,
)
from tests.e2e.stack import Stack
from tests.standins import Behaviour, VLLMStandin

pytestmark = pytest.mark.browser

FALLBACK_NOTE = "Answers stream over HTTP here: this network blocks live connections."


def refusing_websocket_upgrades(config: str) -> str:
    """The deployed configuration, with a proxy's refusal of every WebSocket upgrade."""
    marker = "        location / {\n"
    assert marker in config
    return config.replace(marker, marker + '            if ($http_upgrade != "") { return 403; }\n')


def upstream_of(stack: Stack) -> str:
    return stack.url.removeprefix("http://")


async def texts_while_streaming(page: Page, full: str) -> list[str]:
    """Every distinct text the last answer showed until it was `full`."""
    seen: list[str] = []
    deadline = asyncio.get_running_loop().time() + 30
    while not seen or seen[-1] != full:
        assert asyncio.get_running_loop().time() < deadline, seen[-3:]
        text = await answer_text(page)
        if text and (not seen or text != seen[-1]):
            seen.append(text)
        await asyncio.sleep(0.02)
    return seen


async def stream_an_answer(page: Page, model: VLLMStandin) -> list[str]:
    tokens = numbered_tokens(40)
    model.queue_behaviour(Behaviour(tokens=tokens, token_delay=0.04))
    await send(page, "Count through the proxy")
    full = "".join(tokens).strip()
    seen = await texts_while_streaming(page, full)
    assert len(seen) >= 4, seen  # event by event, not held back by the proxy
    assert all(full.startswith(partial) for partial in seen)
    await expect(posts(page).last.locator(".answer")).to_have_attribute("aria-busy", "false")
    await expect(composer(page)).to_be_enabled()
    return seen


def sockets_opened(page: Page) -> list[str]:
    opened: list[str] = []
    page.on("websocket", lambda socket: opened.append(socket.url))
    return opened


async def test_through_nginx_as_deployed_an_answer_streams_to_its_end_over_websocket(
    open_page: OpenPage, stack: Stack, model: VLLMStandin, tmp_path: Path
) -> None:
    account = await stack.new_account()
    with NginxProxy(tmp_path / "nginx", upstream_of(stack)) as proxy:
        page = await open_page(base_url=proxy.url)
        opened = sockets_opened(page)
        await log_in(page, account)
        await stream_an_answer(page, model)
        assert opened == [f"ws://127.0.0.1:{proxy.port}/graphql"]
        await expect(page.get_by_text(FALLBACK_NOTE)).to_be_hidden()


async def test_through_nginx_refusing_websocket_an_answer_streams_to_its_end_over_http(
    open_page: OpenPage, stack: Stack, model: VLLMStandin, tmp_path: Path
) -> None:
    account = await stack.new_account()
    with NginxProxy(tmp_path / "nginx", upstream_of(stack), refusing_websocket_upgrades) as proxy:
        page = await open_page(base_url=proxy.url)
        multipart: list[str] = []
        page.on(
            "request",
            lambda request: (
                multipart.append(request.url)
                if "multipart/mixed" in (request.headers.get("accept") or "")
                else None
            ),
        )
        await log_in(page, account)
        await stream_an_answer(page, model)
        assert multipart, "the answer did not come over HTTP"
        # A quiet note, not an error: no alert, the page carries on.
        await expect(page.get_by_text(FALLBACK_NOTE)).to_be_visible()
        await expect(page.locator("toast-stack .toast.error")).to_have_count(0)
        # The next answer goes straight over HTTP too, while WebSocket is left alone a while.
        await stream_an_answer(page, model)


async def test_a_socket_cut_by_the_proxy_mid_answer_carries_on_over_http(
    open_page: OpenPage, stack: Stack, model: VLLMStandin, tmp_path: Path
) -> None:
    account = await stack.new_account()
    tokens = numbered_tokens(80)
    full = "".join(tokens).strip()
    model.queue_behaviour(Behaviour(tokens=tokens, token_delay=0.05))
    proxy = NginxProxy(tmp_path / "nginx", upstream_of(stack))
    with proxy:
        page = await open_page(base_url=proxy.url)
        await log_in(page, account)
        await send(page, "Keep counting")
        seen = [await wait_for_text(page, lambda text: "t5" in text)]
    # The proxy goes (the socket with it) and comes back refusing WebSocket upgrades.
    refusing = NginxProxy(
        tmp_path / "nginx-refusing", upstream_of(stack), refusing_websocket_upgrades, proxy.port
    )
    with refusing:
        seen += await texts_while_streaming(page, full)
        await expect(posts(page).last.locator(".answer")).to_have_attribute("aria-busy", "false")
        await expect(page.get_by_text(FALLBACK_NOTE)).to_be_visible()
    assert all(full.startswith(partial) for partial in seen)
