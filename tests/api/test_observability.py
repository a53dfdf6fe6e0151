"""Metrics, structured logs, and one request id from the browser to the model gateway."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from datetime import datetime

import pytest

from tests.standins import Behaviour, VLLMStandin
from tests.support import ApiProcess, ApiServer, GatewayProcess, GraphQLSocket


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search("^" + pattern + "$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_metrics_count_operations_by_root_field_and_outcome(api: ApiServer) -> None:
    before = (await api.http.get("/metrics")).text
    alice = await api.new_user()
    await api.ok("{ me { id } }", token=alice.token)
    await api.error("{ me { id } }")
    after = (await api.http.get("/metrics")).text
    for outcome in ("ok", "UNAUTHENTICATED"):
        grew = sample(after, "chat_graphql_operations_total", field="me", outcome=outcome) - sample(
            before, "chat_graphql_operations_total", field="me", outcome=outcome
        )
        assert grew == 1, outcome
    assert sample(after, "chat_graphql_operation_seconds_count", field="register") >= 1
    assert sample(after, "chat_http_requests_total", route="/graphql", status="200") >= 3


async def test_metrics_show_answers_in_flight_and_how_they_ended(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text="slow " * 30, token_delay=0.05))
    query = 'subscription { promptStream(prompt: "hi") { delta done post { id } } }'
    before = (await api.http.get("/metrics")).text
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        stream = socket.subscribe(query)
        await anext(stream)
        during = (await api.http.get("/metrics")).text
        assert sample(during, "chat_answers_in_flight") >= 1
        assert sample(during, "chat_websocket_connections") >= 1
        async for _ in stream:
            pass
    after = (await api.http.get("/metrics")).text
    ended = sample(after, "chat_answers_total", status="complete") - sample(
        before, "chat_answers_total", status="complete"
    )
    assert ended == 1


async def test_metrics_show_the_database_pool(api: ApiServer, database_url: str) -> None:
    await api.ok("{ serverInfo { allowSignup } }")
    metrics = (await api.http.get("/metrics")).text
    if database_url.startswith("mysql://"):
        assert sample(metrics, "chat_database_pool_connections", state="max") == 10
        assert sample(metrics, "chat_database_pool_connections", state="open") >= 1
    else:
        assert "chat_database_pool_connections" in metrics


async def test_logs_are_json_lines_with_request_ids_and_no_secrets(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    password = "a rather secret password"
    prompt = "my very private question about llamas"
    env = {
        "DATABASE_URL": database_url,
        "LLM_GATEWAY_URL": gateway.url,
        "APP_ENV": "production",
        "LOG_LEVEL": "INFO",
    }
    async with ApiProcess(**env) as api:
        registered = await api.gql(
            "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }",
            {"u": f"logger-{os.getpid()}", "p": password},
        )
        token = registered["data"]["register"]["token"]
        response = await api.http.post(
            "/graphql",
            json={
                "query": "mutation($p: String!) { sendPrompt(prompt: $p) { id } }",
                "variables": {"p": prompt},
            },
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "find-me-42"},
        )
        assert not response.json().get("errors")
        await api.http.get("/graphql?query=%7B%20__typename%20%7D&password=hunter2")
        await asyncio.sleep(0.3)
        lines = api.log_lines()
    entries = [json.loads(line) for line in lines]
    assert entries, "the API logged nothing"
    assert all(
        {"time", "level", "logger", "message", "request_id"} <= set(entry) for entry in entries
    )
    # UTC, ISO 8601 with its zone, as the gateway writes it.
    assert all(entry["time"].endswith("+00:00") for entry in entries), entries[0]["time"]
    assert all(datetime.fromisoformat(entry["time"]) for entry in entries)
    access = [entry for entry in entries if entry["logger"] == "graphql_api.access"]
    assert any(
        entry["request_id"] == "find-me-42" and entry["path"] == "/graphql" for entry in access
    )
    text = "\n".join(lines)
    for secret in (password, token, prompt, "hunter2"):
        assert secret not in text


async def test_the_request_id_follows_a_prompt_into_the_gateway_logs(
    database_url: str, gateway: GatewayProcess
) -> None:
    async with ApiProcess(DATABASE_URL=database_url, LLM_GATEWAY_URL=gateway.url) as api:
        alice = await api.new_user()
        response = await api.http.post(
            "/graphql",
            json={"query": 'mutation { sendPrompt(prompt: "trace me") { status } }'},
            headers={"Authorization": f"Bearer {alice.token}", "X-Request-ID": "trace-4242"},
        )
        assert response.json()["data"]["sendPrompt"]["status"] == "COMPLETE"
    deadline = time.monotonic() + 5
    while "[trace-4242]" not in gateway.log_text() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert "[trace-4242]" in gateway.log_text()


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/graphql"])
async def test_health_and_metrics_need_no_token(api: ApiServer, path: str) -> None:
    response = await api.http.get(
        path, headers={"Accept": "text/html"} if path == "/graphql" else {}
    )
    assert response.status_code == 200
