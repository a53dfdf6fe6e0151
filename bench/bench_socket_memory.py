"""Memory over one WebSocket: the API's resident memory while one socket sends many queries
that each load many pages of large posts, against the same queries sent over HTTP.

    .venv/bin/python bench/bench_socket_memory.py [--queries 60] [--quick]

The reproduction of a security finding: a user with 4 posts of long prompts sends queries
over one socket, each with 15 aliases of `posts(last: 4, before: <a different cursor>)`.
Anything cached per connection (rather than per operation) grows with every query and is
freed only when the socket closes. Prints the API's resident memory at rest, after the
queries over HTTP (the baseline: one context per request), and after the same number over
one socket, and the ratio of the two growths. Target: the socket grows no more than HTTP
(ratio about 1).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import websockets
from bench_gateway import free_port, service
from websockets.typing import Subprotocol

PASSWORD = "benchmark password"
PROMPT_CHARS = 30_000
ALIASES = 15


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cursor(post_id: int) -> str:
    return base64.urlsafe_b64encode(f"p:{post_id}".encode()).decode().rstrip("=")


def pages_query(conversation_id: str, first_cursor: int) -> str:
    aliases = " ".join(
        f'p{n}: posts(last: 4, before: "{cursor(first_cursor + n)}") '
        "{ edges { node { prompt body } } }"
        for n in range(ALIASES)
    )
    return f'{{ conversation(id: "{conversation_id}") {{ {aliases} }} }}'


async def seed(api_url: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=api_url, timeout=120) as http:
        reply = await http.post(
            "/graphql",
            json={
                "query": "mutation($u: String!, $p: String!) { register(username: $u, "
                "password: $p) { token } }",
                "variables": {"u": f"bench{secrets.token_hex(4)}", "p": PASSWORD},
            },
        )
        token = reply.json()["data"]["register"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        conversation_id = None
        for number in range(4):
            reply = await http.post(
                "/graphql",
                headers=headers,
                json={
                    "query": "mutation($c: ID, $p: String!) { sendPrompt(conversationId: $c, "
                    "prompt: $p, options: {maxTokens: 8}) { conversationId } }",
                    "variables": {"c": conversation_id, "p": f"{number} " + "é" * PROMPT_CHARS},
                },
            )
            conversation_id = reply.json()["data"]["sendPrompt"]["conversationId"]
    assert conversation_id is not None
    return token, conversation_id


async def over_http(api_url: str, token: str, conversation_id: str, queries: int) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=120) as http:
        for number in range(queries):
            query = pages_query(conversation_id, 1_000_000 + number * ALIASES)
            reply = await http.post(
                "/graphql", headers={"Authorization": f"Bearer {token}"}, json={"query": query}
            )
            assert not reply.json().get("errors"), reply.text[:300]


async def over_one_socket(
    api_url: str, token: str, conversation_id: str, queries: int, pid: int
) -> float:
    """Send the queries over one socket; the resident memory while it is still open."""
    url = api_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
    ) as socket:
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        for number in range(queries):
            query = pages_query(conversation_id, 2_000_000 + number * ALIASES)
            await socket.send(
                json.dumps({"id": str(number), "type": "subscribe", "payload": {"query": query}})
            )
            while True:
                message = json.loads(await socket.recv())
                if message["type"] == "next":
                    assert not message["payload"].get("errors"), message
                if message["type"] == "complete":
                    break
        await asyncio.sleep(0.5)
        return resident_mb(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="5 queries: seconds, not minutes")
    arguments = parser.parse_args()
    queries = 5 if arguments.quick else arguments.queries
    standin_port, api_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    with tempfile.TemporaryDirectory() as tmp:
        standin = [sys.executable, "-m", "tests.standins", "vllm", "--port", str(standin_port)]
        with (
            service(standin, f"http://127.0.0.1:{standin_port}/health"),
            service(
                [sys.executable, "-m", "graphql_api", "serve"],
                f"{api_url}/readyz",
                env={
                    "DATABASE_URL": f"sqlite://{tmp}/chat.sqlite3",
                    "LLM_GATEWAY_URL": f"http://127.0.0.1:{standin_port}",
                    "API_PORT": str(api_port),
                    "JWT_SECRET": secrets.token_urlsafe(48),
                    "LOG_LEVEL": "WARNING",
                    "MAX_RESPONSE_BYTES": str(64 << 20),
                },
            ) as api,
        ):
            token, conversation_id = asyncio.run(seed(api_url))
            asyncio.run(over_http(api_url, token, conversation_id, 2))
            at_rest = resident_mb(api.pid)
            asyncio.run(over_http(api_url, token, conversation_id, queries))
            after_http = resident_mb(api.pid)
            socket_open = asyncio.run(
                over_one_socket(api_url, token, conversation_id, queries, api.pid)
            )
    http_growth = max(after_http - at_rest, 1.0)
    socket_growth = socket_open - after_http
    print(f"{queries} queries of {ALIASES} pages of 4 posts with {PROMPT_CHARS}-character prompts")
    print(f"API resident memory at rest:            {at_rest:7.1f} MB")
    print(f"after the queries over HTTP (baseline): {after_http:7.1f} MB (+{http_growth:.1f})")
    print(f"after the same over one open socket:    {socket_open:7.1f} MB (+{socket_growth:.1f})")
    print(f"socket growth / HTTP growth:            {socket_growth / http_growth:7.2f}")


if __name__ == "__main__":
    main()
