"""Helpers for API tests: a real uvicorn server in the test's event loop, and a client.

async with start_api(database_url=url, llm_gateway_url=llm.url, allow_signup=False) as api:
    alice = await api.new_user()
    data = await api.ok("query { me { username } }", token=alice.token)
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from tortoise.context import TortoiseContext

from graphql_api.app import create_app
from graphql_api.schema.context import Services
from graphql_api.settings import Settings

TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


@dataclass
class Account:
    id: str
    username: str
    token: str


class ApiServer:
    def __init__(self, url: str, settings: Settings, state: dict[str, Any]) -> None:
        self.url = url
        self.settings = settings
        self.http = httpx.AsyncClient(base_url=url, timeout=30)
        # The app's Tortoise context: `with api.database:` lets a test read rows directly.
        self.database: TortoiseContext = state["database"]
        self.services: Services = state["services"]

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The whole response body: `data` and `errors`."""
        response = await self.post(query, variables, token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def ok(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """`data`, after checking there were no errors."""
        body = await self.gql(query, variables, token)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The first error, after checking there was one."""
        body = await self.gql(query, variables, token)
        assert body.get("errors"), body
        error: dict[str, Any] = body["errors"][0]
        return error

    async def new_user(self, prefix: str = "user") -> Account:
        username = f"{prefix}-{secrets.token_hex(5)}"
        data = await self.ok(
            "mutation($u: String!, $p: String!) { register(username: $u, password: $p) "
            "{ token user { id username } } }",
            {"u": username, "p": PASSWORD},
        )
        payload = data["register"]
        return Account(id=payload["user"]["id"], username=username, token=payload["token"])

    async def new_conversation(self, account: Account, title: str = "Chat") -> str:
        data = await self.ok(
            "mutation($t: String) { createConversation(title: $t) { id } }",
            {"t": title},
            token=account.token,
        )
        conversation_id: str = data["createConversation"]["id"]
        return conversation_id

    async def send_prompt(
        self, account: Account, prompt: str, conversation_id: str | None = None, **options: Any
    ) -> dict[str, Any]:
        data = await self.ok(
            "mutation($c: ID, $p: String!, $o: GenerationOptions) { sendPrompt("
            "conversationId: $c, prompt: $p, options: $o) { id conversationId prompt body status "
            "finishReason model promptTokens completionTokens latencyMs error } }",
            {"c": conversation_id, "p": prompt, "o": options or None},
            token=account.token,
        )
        post: dict[str, Any] = data["sendPrompt"]
        return post


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "jwt_secret": TEST_SECRET,
        "app_env": "development",
        "log_level": "WARNING",
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def start_api(**overrides: Any) -> AsyncIterator[ApiServer]:
    """Serve the API on a free loopback port in this event loop until the block ends."""
    settings = make_settings(**overrides)
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the API server stopped during start-up")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    api = ApiServer(f"http://127.0.0.1:{port}", settings, server.lifespan.state)
    try:
        yield api
    finally:
        await api.http.aclose()
        server.should_exit = True
        await task
