"""Helpers for API tests: a real uvicorn server in the test's event loop, and a client.

async with start_api(database_url=url, llm_gateway_url=llm.url, allow_signup=False) as api:
    alice = await api.new_user()
    data = await api.ok("query { me { username } }", token=alice.token)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from tortoise.context import TortoiseContext

from graphql_api.app import create_app
from graphql_api.database import request_scope
from graphql_api.observability import request_id
from graphql_api.server import server_config
from graphql_api.services.wiring import Services
from graphql_api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


@dataclass
class Account:
    id: str
    username: str
    token: str


class ApiClient:
    """GraphQL over HTTP against an API at `url`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=30)

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


class ApiServer(ApiClient):
    """An API served in this process, whose database and services a test can reach."""

    def __init__(self, url: str, settings: Settings, state: dict[str, Any]) -> None:
        super().__init__(url)
        self.settings = settings
        self._database: TortoiseContext = state["database"]
        self.services: Services = state["services"]

    @property
    def database(self) -> TortoiseContext:
        """The app's database: `with api.database:` lets a test read rows directly."""
        return request_scope(self._database)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "jwt_secret": TEST_SECRET,
        "app_env": "development",
        "log_level": "WARNING",
        # Every test signs its users up from loopback.
        "signups_per_hour_per_address": 100_000,
        # A title request after each first answer would take behaviours queued for the next.
        "auto_titles": False,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def start_api(*, port: int = 0, **overrides: Any) -> AsyncIterator[ApiServer]:
    """Serve the API on a loopback port (0: a free one) in this event loop until the block
    ends."""
    settings = make_settings(**overrides)
    config = server_config(create_app(settings), settings, host="127.0.0.1", port=port)
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


class SubscriptionError(Exception):
    """The server answered a subscription with errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0].get("message"))
        self.errors = errors
        self.code = errors[0].get("extensions", {}).get("code")


class GraphQLSocket:
    """A `graphql-transport-ws` client over a real WebSocket.

    async with GraphQLSocket.connect(api.url, token) as socket:
        async for data in socket.subscribe("subscription { ... }", {...}):
            ...
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._next_id = 0
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, base_url: str, token: str | None, init: bool = True
    ) -> AsyncIterator[GraphQLSocket]:
        import websockets

        url = base_url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
            if init:
                payload = {"authorization": f"Bearer {token}"} if token else {}
                await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
                reply = json.loads(await connection.recv())
                if reply["type"] != "connection_ack":
                    raise AssertionError(reply)
            socket = cls(connection)
            try:
                yield socket
            finally:
                socket._reader.cancel()

    async def _read(self) -> None:
        import websockets

        try:
            async for raw in self.connection:
                message = json.loads(raw)
                if message["type"] == "ping":
                    await self.connection.send(json.dumps({"type": "pong"}))
                elif "id" in message and message["id"] in self._queues:
                    await self._queues[message["id"]].put(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            for queue in self._queues.values():
                queue.put_nowait({"type": "closed"})

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Each `next` payload's data; raises SubscriptionError on errors. Ends when the
        server completes the operation or closes the socket (see `connection.close_code`)."""
        import websockets

        self._next_id += 1
        operation_id = str(self._next_id)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues[operation_id] = queue
        subscribe = {
            "id": operation_id,
            "type": "subscribe",
            "payload": {"query": query, "variables": variables or {}},
        }
        try:
            await self.connection.send(json.dumps(subscribe))
        except websockets.ConnectionClosed:
            # The server closed the socket while the message was being sent (too big, say).
            del self._queues[operation_id]
            return
        try:
            while True:
                message = await queue.get()
                if message["type"] == "next":
                    if message["payload"].get("errors"):
                        raise SubscriptionError(message["payload"]["errors"])
                    yield message["payload"]["data"]
                elif message["type"] == "error":
                    raise SubscriptionError(message["payload"])
                elif message["type"] in ("complete", "closed"):
                    return
        finally:
            del self._queues[operation_id]
            if not self.connection.close_code:
                with contextlib.suppress(Exception):
                    await self.connection.send(json.dumps({"id": operation_id, "type": "complete"}))


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """The SQL statements that requests to an API in this process send meanwhile (Tortoise
    logs each at DEBUG; the background chores, which belong to no request, are left out)."""
    statements: list[str] = []

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if request_id.get() != "-":
                statements.append(record.getMessage())

    logger = logging.getLogger("tortoise.db_client")
    handler, level = Count(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


MULTIPART_ACCEPT = 'multipart/mixed;subscriptionSpec="1.0",application/json'


async def http_subscribe(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None
) -> AsyncIterator[dict[str, Any]]:
    """A subscription over plain HTTP, as Apollo Client and urql speak it (a multipart
    response, one JSON part per event): each event's `payload`, heartbeats left out."""
    headers = {"Accept": MULTIPART_ACCEPT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with http.stream(
        "POST", "/graphql", json={"query": query, "variables": variables}, headers=headers
    ) as response:
        if not response.headers.get("content-type", "").startswith("multipart/mixed"):
            body = json.loads(await response.aread())
            raise SubscriptionError(body.get("errors") or [{"message": str(body)}])
        buffer = ""
        async for text in response.aiter_text():
            buffer += text
            *parts, buffer = buffer.split("\r\n--graphql")
            for part in parts:
                _, _, body = part.partition("\r\n\r\n")
                if not body.strip():
                    continue
                event = json.loads(body)
                if "payload" not in event:
                    continue  # a heartbeat
                if event["payload"].get("errors"):
                    raise SubscriptionError(event["payload"]["errors"])
                yield event["payload"]
            if buffer.startswith("--"):
                return


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A service started with `python -m <module> ...`, healthy once `health_url` answers 200.
    Its standard output and error go to `log`."""

    def __init__(self, args: list[str], env: dict[str, str], health_url: str, log: Path) -> None:
        self.args = args
        self.env = env
        self.health_url = health_url
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.args], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.args} exited:\n{self.log.read_text()}")
            try:
                if httpx.get(self.health_url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.args} did not become healthy:\n{self.log.read_text()}")

    def kill(self) -> None:
        """End the process at once (SIGKILL), as a crash would."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class ApiProcess(ApiClient):
    """`python -m graphql_api serve` in its own process, as an operator runs it.

    async with ApiProcess(DATABASE_URL=url, LLM_GATEWAY_URL=llm.url) as api:
        api.kill()            # SIGKILL, no goodbye
    """

    def __init__(self, **env: str) -> None:
        self.port = port = free_port()
        super().__init__(f"http://127.0.0.1:{port}")
        self._logs = tempfile.TemporaryDirectory(prefix="api-process-")
        self.server = ServerProcess(
            ["-m", "graphql_api", "serve"],
            {
                **os.environ,
                "API_PORT": str(port),
                "JWT_SECRET": TEST_SECRET,
                "LOG_LEVEL": "WARNING",
                "SIGNUPS_PER_HOUR_PER_ADDRESS": "100000",
                "AUTO_TITLES": "false",
                **env,
            },
            f"{self.url}/readyz",
            Path(self._logs.name) / "api.log",
        )

    def log_lines(self) -> list[str]:
        """What the process has written so far."""
        return self.server.log.read_text(errors="replace").splitlines()

    def kill(self) -> None:
        self.server.kill()

    async def __aenter__(self) -> ApiProcess:
        await asyncio.to_thread(self.server.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        await asyncio.to_thread(self.server.stop)
        self._logs.cleanup()


class GatewayProcess(ServerProcess):
    """`python -m llm_gateway` in its own process, in front of an OpenAI-style upstream.

    with GatewayProcess(llm.base_url, log_path) as gateway:
        gateway.url          # for LLM_GATEWAY_URL
        gateway.log_text()   # what it has logged
    """

    def __init__(self, upstream: str, log_path: Path, **env: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        super().__init__(
            ["-m", "llm_gateway"],
            {
                **os.environ,
                "LLM_BACKEND": "vllm",
                "LLM_BASE_URL": upstream,
                "GATEWAY_HOST": "127.0.0.1",
                "GATEWAY_PORT": str(port),
                "LOG_LEVEL": "INFO",
                **env,
            },
            f"{self.url}/healthz",
            log_path,
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def __enter__(self) -> GatewayProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
