"""The processes behind the browser tests, and HTTP helpers to set up their data.

stack, processes = start_stack(tmp_path, llm)     # gateway and API, each on a free port
account = await stack.new_account()
await stack.send_prompt(account, "Hello")                # a saved exchange, no browser
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.standins import VLLMStandin
from tests.support import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
FRONTEND_DIST = ROOT / "frontend" / "dist"
PASSWORD = "correct horse battery"
JWT_SECRET = "e2e-secret-" + "y" * 40
SEND_PROMPT = (
    "mutation($c: ID, $p: String!) { sendPrompt(conversationId: $c, prompt: $p) "
    "{ id conversationId status body } }"
)


@dataclass
class Account:
    username: str
    password: str
    token: str


class Stack:
    """The API process (and what it talks to), with helpers to set up data over HTTP."""

    def __init__(self, url: str, api: ServerProcess) -> None:
        self.url = url
        self.api = api
        self.http = httpx.AsyncClient(base_url=url, timeout=30)

    async def response(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The whole GraphQL response: `data` and `errors`."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body: dict[str, Any] = response.json()
        return body

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        """`data`, after checking there were no errors."""
        body = await self.response(query, variables, token)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def new_account(self, prefix: str = "user") -> Account:
        username = f"{prefix}-{secrets.token_hex(4)}"
        data = await self.gql(
            "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }",
            {"u": username, "p": PASSWORD},
        )
        return Account(username, PASSWORD, data["register"]["token"])

    async def new_conversation(self, account: Account, title: str) -> str:
        data = await self.gql(
            "mutation($t: String) { createConversation(title: $t) { id } }",
            {"t": title},
            account.token,
        )
        conversation_id: str = data["createConversation"]["id"]
        return conversation_id

    async def send_prompt(
        self, account: Account, prompt: str, conversation_id: str | None = None
    ) -> dict[str, Any]:
        """A whole exchange through the `sendPrompt` mutation: prompt, model, saved answer."""
        data = await self.gql(SEND_PROMPT, {"c": conversation_id, "p": prompt}, account.token)
        post: dict[str, Any] = data["sendPrompt"]
        return post


def start_stack(
    tmp: Path, llm: VLLMStandin, api_port: int | None = None, **settings: str
) -> tuple[Stack, list[ServerProcess]]:
    """The gateway in front of `llm`, and the API on SQLite in `tmp`, each a process on a free
    port (the API's `api_port` when given). `settings` are extra environment variables for the
    API. The processes are returned in start order, for the caller to stop."""
    gateway_url = f"http://127.0.0.1:{free_port()}"
    gateway = ServerProcess(
        ["-m", "llm_gateway"],
        {
            **os.environ,
            "LLM_BACKEND": "vllm",
            "LLM_BASE_URL": llm.base_url,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": gateway_url.rsplit(":", 1)[1],
            "LOG_LEVEL": "WARNING",
        },
        f"{gateway_url}/healthz",
        tmp / "gateway.log",
    )
    gateway.start()
    try:
        stack = start_api(tmp, gateway_url, api_port, **settings)
    except RuntimeError:
        gateway.stop()
        raise
    return stack, [gateway, stack.api]


def start_api(tmp: Path, gateway_url: str, api_port: int | None = None, **settings: str) -> Stack:
    """The API on SQLite in `tmp`, a process on a free port (or `api_port`), in front of the
    gateway at `gateway_url`; stop it with `stack.api.stop()`."""
    if not (FRONTEND_DIST / "index.html").is_file():
        pytest.fail("frontend/dist is missing: run `make frontend` (make test does it first)")
    api_url = f"http://127.0.0.1:{api_port or free_port()}"
    api = ServerProcess(
        ["-m", "graphql_api", "serve"],
        {
            **os.environ,
            "APP_ENV": "development",
            "DATABASE_URL": f"sqlite://{tmp / 'chat.sqlite3'}",
            "LLM_GATEWAY_URL": gateway_url,
            "API_HOST": "127.0.0.1",
            "API_PORT": api_url.rsplit(":", 1)[1],
            "JWT_SECRET": JWT_SECRET,
            "LOG_LEVEL": "WARNING",
            "PROMPTS_PER_MINUTE": "1000",  # tests seed long conversations quickly
            "SIGNUPS_PER_HOUR_PER_ADDRESS": "100000",  # every test signs up from loopback
            "AUTO_TITLES": "false",  # a title request would take behaviours queued for answers
            **settings,
        },
        f"{api_url}/healthz",
        tmp / "api.log",
    )
    api.start()
    return Stack(api_url, api)
