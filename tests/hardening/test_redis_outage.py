"""Redis going away and coming back under two API processes: each says so while it is away,
and stops sent from one process reach the other again once it is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.hardening.redis_server import PrivateRedis
from tests.standins import Behaviour, VLLMStandin
from tests.support import ApiClient, ApiProcess, GatewayProcess, GraphQLSocket, start_api

pytestmark = pytest.mark.slow

PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id status } } }"
)
STOP = "mutation($id: ID!) { stopGeneration(postId: $id) { status } }"
WORDS = " ".join(f"word{number}" for number in range(80))


async def wait_for_redis(api: ApiClient, state: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        report = (await api.http.get("/readyz")).json()
        if report.get("redis") == state:
            metrics = (await api.http.get("/metrics")).text
            assert f"chat_redis_listening {1.0 if state == 'up' else 0.0}" in metrics
            return
        assert time.monotonic() < deadline, f"/readyz still says {report}"
        await asyncio.sleep(0.2)


async def test_after_a_redis_outage_stops_from_another_process_are_heard_again(
    database_url: str, model: VLLMStandin, tmp_path: Path, gateway: GatewayProcess
) -> None:
    with PrivateRedis(tmp_path / "redis") as server:
        settings = {"database_url": database_url, "llm_gateway_url": model.url}
        async with (
            start_api(**settings, redis_url=server.url) as writer,
            ApiProcess(
                DATABASE_URL=database_url, LLM_GATEWAY_URL=gateway.url, REDIS_URL=server.url
            ) as other,
        ):
            await wait_for_redis(writer, "up")
            server.kill()
            await wait_for_redis(writer, "down")
            assert (await writer.http.get("/readyz")).status_code == 200, "still serving"
            server.start()
            await wait_for_redis(writer, "up")

            alice = await writer.new_user()
            model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
            async with GraphQLSocket.connect(writer.url, alice.token) as socket:
                events = socket.subscribe(PROMPT_STREAM, {"p": "a long answer"})
                async for data in events:
                    post_id = data["promptStream"]["post"]["id"]
                    if data["promptStream"]["delta"]:
                        break
                stopped = await other.ok(STOP, {"id": post_id}, token=alice.token)
                assert stopped["stopGeneration"]["status"] == "CANCELLED"
                rest = [data["promptStream"] async for data in events]
            assert rest[-1]["post"]["status"] == "CANCELLED"
