"""Simulated users for the load benchmark, and what they measure.

    stats = Stats()
    user = SimulatedUser(index=3, username="load-3", api_url=url, http=client, stats=stats)
    await user.live(until=time.monotonic() + 60, think=1.0)
    stats.latencies("conversations"), stats.errors["login"], stats.accepted, stats.events

A user logs in, opens one WebSocket, then until the deadline: creates a conversation, asks
it a few questions over promptStream (each waits for its whole answer), and reads its
history (the conversation list, the conversation's posts, its earlier prompts), thinking a
little between steps. Every prompt is unique, so that its saved answer can be checked.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

PASSWORD = "load benchmark password"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
CREATE = "mutation($t: String) { createConversation(title: $t) { id } }"
PROMPT_STREAM = (
    "subscription($c: ID, $p: String!) { promptStream(conversationId: $c, prompt: $p) "
    "{ delta done post { id status } } }"
)
CONVERSATIONS = "{ conversations(first: 20) { edges { cursor node { id title updatedAt } } } }"
POSTS = (
    "query($id: ID!) { conversation(id: $id) { title posts(last: 10) "
    "{ edges { node { id prompt body status } } } } }"
)
PROMPTS = "{ prompts(first: 20) { edges { cursor node { id prompt status createdAt } } } }"
FIRST_TOKEN = "promptStream: first token"
WHOLE_ANSWER = "promptStream: whole answer"
OPERATIONS = [
    "login",
    "createConversation",
    FIRST_TOKEN,
    WHOLE_ANSWER,
    "conversations",
    "conversation.posts",
    "prompts",
]


class OperationFailed(Exception):
    """The API answered with errors, or not as expected."""


@dataclass
class Accepted:
    """A prompt the API took: its post id, as the first event of its stream named it."""

    post_id: int
    prompt: str
    body: str = ""
    status: str | None = None


@dataclass
class Stats:
    # Per operation: when each one started (time.perf_counter()) and how long it took.
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    accepted: list[Accepted] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    events: int = 0

    def record(self, operation: str, started: float) -> None:
        self.samples[operation].append((started, time.perf_counter() - started))

    def latencies(self, operation: str, since: float = 0.0) -> list[float]:
        """Seconds each `operation` took, of those started at `since` or later."""
        return [seconds for start, seconds in self.samples.get(operation, []) if start >= since]

    def failed(self, operation: str, problem: object) -> None:
        self.errors[operation] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{operation}: {problem!r}"[:300])


class SimulatedUser:
    def __init__(
        self, index: int, username: str, api_url: str, http: httpx.AsyncClient, stats: Stats
    ) -> None:
        self.index = index
        self.username = username
        self.api_url = api_url
        self.http = http
        self.stats = stats
        self.token = ""
        self.asked = 0

    async def gql(self, operation: str, query: str, variables: dict[str, Any]) -> Any:
        """One timed GraphQL request over HTTP; its data, or OperationFailed."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        started = time.perf_counter()
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        body = response.json() if response.status_code == 200 else {"errors": [response.text]}
        if body.get("errors"):
            raise OperationFailed(body["errors"][0])
        self.stats.record(operation, started)
        return body["data"]

    async def attempt(self, operation: str, query: str, variables: dict[str, Any]) -> Any:
        try:
            return await self.gql(operation, query, variables)
        except (OperationFailed, httpx.HTTPError, ValueError) as problem:
            self.stats.failed(operation, problem)
            return None

    async def live(self, until: float, think: float, answers_per_conversation: int) -> None:
        while self.token == "" and time.monotonic() < until:
            data = await self.attempt("login", LOGIN, {"u": self.username, "p": PASSWORD})
            self.token = data["login"]["token"] if data else ""
        while time.monotonic() < until:
            try:
                await self._converse(until, think, answers_per_conversation)
            except (websockets.WebSocketException, OSError) as problem:
                self.stats.failed("websocket", problem)
                await asyncio.sleep(think)

    async def _converse(self, until: float, think: float, answers: int) -> None:
        url = self.api_url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")], max_queue=None
        ) as socket:
            init = {"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}
            await socket.send(json.dumps(init))
            if json.loads(await socket.recv())["type"] != "connection_ack":
                raise websockets.WebSocketException("no connection_ack")
            while time.monotonic() < until:
                data = await self.attempt("createConversation", CREATE, {"t": f"load {self.index}"})
                conversation = data["createConversation"]["id"] if data else None
                for _ in range(answers):
                    if time.monotonic() >= until:
                        return
                    await self._ask(socket, conversation)
                    await _pause(think)
                await self.attempt("conversations", CONVERSATIONS, {})
                if conversation is not None:
                    await self.attempt("conversation.posts", POSTS, {"id": conversation})
                await self.attempt("prompts", PROMPTS, {})
                await _pause(think)

    async def _ask(self, socket: Any, conversation: str | None) -> None:
        self.asked += 1
        prompt = f"user {self.index} asks question {self.asked} ({secrets.token_hex(3)})"
        operation_id = str(self.asked)
        variables = {"c": conversation, "p": prompt}
        subscribe = {"query": PROMPT_STREAM, "variables": variables}
        started = time.perf_counter()
        await socket.send(
            json.dumps({"id": operation_id, "type": "subscribe", "payload": subscribe})
        )
        accepted: Accepted | None = None
        first_token = False
        while True:
            message = json.loads(await socket.recv())
            if message.get("id") != operation_id:
                continue
            if message["type"] == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    self.stats.failed(FIRST_TOKEN, payload["errors"][0])
                    continue
                event = payload["data"]["promptStream"]
                if accepted is None:
                    accepted = Accepted(post_id=int(event["post"]["id"]), prompt=prompt)
                    self.stats.accepted.append(accepted)
                accepted.body += event["delta"]
                self.stats.events += 1
                if event["delta"] and not first_token:
                    first_token = True
                    self.stats.record(FIRST_TOKEN, started)
                if event["done"]:
                    accepted.status = event["post"]["status"]
            elif message["type"] == "error":
                self.stats.failed(FIRST_TOKEN, message["payload"])
                return
            elif message["type"] == "complete":
                break
        if accepted is None or accepted.status != "COMPLETE":
            self.stats.failed(WHOLE_ANSWER, accepted.status if accepted else "no answer")
            return
        self.stats.record(WHOLE_ANSWER, started)


async def _pause(think: float) -> None:
    """Think time, spread so that users do not move in lockstep."""
    await asyncio.sleep(random.uniform(0.5, 1.5) * think)
