"""API_WORKERS: several API processes on one host, sharing the listening socket and Redis."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api.test_processes import REDIS_URL, require_redis
from tests.standins import Behaviour, VLLMStandin
from tests.support import (
    ROOT,
    TEST_SECRET,
    ApiProcess,
    GatewayProcess,
    GraphQLSocket,
)

PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id status } } }"
)
STOP = "mutation($id: ID!) { stopGeneration(postId: $id) { status } }"


def worker_pids(parent: int) -> list[int]:
    """The processes `parent` started (uvicorn's workers)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


async def me_on_a_new_connection(api: ApiProcess, token: str) -> str:
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
        reply = await http.post(
            "/graphql",
            json={"query": "{ me { username } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    return str(reply.json()["data"]["me"]["username"])


def test_more_than_one_worker_needs_redis(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "API_WORKERS": "2",
        "DATABASE_URL": f"sqlite://{tmp_path / 'chat.sqlite3'}",
        "JWT_SECRET": TEST_SECRET,
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "graphql_api", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "API_WORKERS=2 needs REDIS_URL" in result.stderr


async def test_two_workers_serve_one_port_and_share_stops(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    require_redis()
    async with ApiProcess(
        DATABASE_URL=database_url,
        LLM_GATEWAY_URL=gateway.url,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=f"test-{secrets.token_hex(4)}",
        API_WORKERS="2",
    ) as api:
        assert api.server.process is not None
        assert len(worker_pids(api.server.process.pid)) >= 2
        alice = await api.new_user()
        # Each on a connection of its own: the kernel spreads them over both workers.
        answers = await asyncio.gather(
            *(me_on_a_new_connection(api, alice.token) for _ in range(8))
        )
        assert answers == [alice.username] * 8
        model.queue_behaviour(
            Behaviour(text=" ".join(f"w{n}" for n in range(80)), token_delay=0.05)
        )
        async with GraphQLSocket.connect(api.url, alice.token) as socket:
            events = socket.subscribe(PROMPT_STREAM, {"p": "long"})
            async for data in events:
                if data["promptStream"]["delta"]:
                    post_id = data["promptStream"]["post"]["id"]
                    break
            # Stops sent on new connections, whichever worker takes each, reach the writer.
            for _ in range(3):
                stopped = await api.ok(STOP, {"id": post_id}, token=alice.token)
            assert stopped["stopGeneration"]["status"] == "CANCELLED"
            rest = [data["promptStream"] async for data in events]
        assert rest[-1]["post"]["status"] == "CANCELLED"
