"""Hypothesis profiles and the arena the hostile-input tests play in.

Profiles (pick one with HYPOTHESIS_PROFILE):
- `hardening` (default): 50 examples a property, about two minutes per backend in all.
- `hardening-thorough`: 500 examples a property, for a run before a release.

The arena is an API of its own on a fresh database per backend, with a victim who owns
conversations and posts (their text carries a secret) and an attacker who owns some too.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from tortoise.expressions import Q

from graphql_api.models import Conversation, Post, Session, User
from graphql_api.server import MAX_HEADER_BYTES
from tests.conftest import MariaDBDatabase, require_mariadb
from tests.standins import VLLMStandin
from tests.support import Account, ApiServer, GatewayProcess, start_api

# A refusal comes at once; a server that takes longer than this to answer is hanging.
REFUSAL_SECONDS = 10

settings.register_profile(
    "hardening",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "hardening-thorough", parent=settings.get_profile("hardening"), max_examples=500
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "hardening"))

# Raised so that hostile examples reach the code behind the limits; the limits themselves
# are tested in tests/api.
ARENA_SETTINGS: dict[str, Any] = {
    "prompts_per_minute": 1_000_000,
    "max_answers_in_flight": 1_000,
    "login_lockout_seconds": 1,
    "log_level": "ERROR",
}


@dataclass
class Arena:
    api: ApiServer
    attacker: Account
    victim: Account
    secret: str
    conversation_ids: list[str]
    post_ids: list[str]
    conversation_cursors: list[str]
    post_cursors: list[str]
    victim_conversation_ids: list[int]

    async def post(self, body: bytes, headers: dict[str, Any] | None = None) -> tuple[int, str]:
        """POST /graphql as the attacker, JSON unless `headers` say otherwise: (status, text).

        A body over the API's limit gets its 413 before it is read (headers over 64 KiB
        their 431), and the connection is closed under a client still sending it: the
        client may then see a reset instead of the answer. A reset counts as that refusal
        only for such a request, only if it came at once, and only if the server is still
        up: a server that hangs (a timeout) or dies fails the test.
        """
        all_headers = {
            "Authorization": f"Bearer {self.attacker.token}",
            "Content-Type": "application/json",
            **(headers or {}),
        }
        try:
            response = await self.api.http.post(
                "/graphql", content=body, headers=all_headers, timeout=REFUSAL_SECONDS
            )
        except httpx.TimeoutException:
            raise AssertionError("the server did not answer: it hangs") from None
        except httpx.TransportError:
            header_bytes = sum(len(name) + len(value) + 4 for name, value in all_headers.items())
            if len(body) > self.api.settings.max_body_bytes:
                refusal = 413
            elif header_bytes > MAX_HEADER_BYTES:
                refusal = 431
            else:
                raise
            health = await self.api.http.get("/healthz", timeout=REFUSAL_SECONDS)
            assert health.status_code == 200, "the server stopped answering after the refusal"
            return refusal, ""
        return response.status_code, response.text

    async def victim_rows(self) -> dict[str, Any]:
        """Every row of the victim's, and any row anyone put into the victim's conversations."""
        victim_id = int(self.victim.id)
        with self.api.database:
            return {
                "user": await User.filter(id=victim_id).values(),
                "sessions": await Session.filter(user_id=victim_id).order_by("jti").values(),
                "conversations": await Conversation.filter(
                    Q(user_id=victim_id) | Q(id__in=self.victim_conversation_ids)
                )
                .order_by("id")
                .values(),
                "posts": await Post.filter(
                    Q(user_id=victim_id) | Q(conversation_id__in=self.victim_conversation_ids)
                )
                .order_by("id")
                .values(),
            }


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def arena_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path_factory.mktemp('arena') / 'chat.sqlite3'}"
        return
    require_mariadb()
    with MariaDBDatabase("chat_hardening") as database:
        yield database.url


async def _post_cursors(api: ApiServer, account: Account) -> list[str]:
    data = await api.ok("{ prompts(first: 5) { edges { cursor } } }", token=account.token)
    return [edge["cursor"] for edge in data["prompts"]["edges"]]


async def _conversation_cursors(api: ApiServer, account: Account) -> list[str]:
    data = await api.ok("{ conversations(first: 5) { edges { cursor } } }", token=account.token)
    return [edge["cursor"] for edge in data["conversations"]["edges"]]


async def _register_with_a_secret_password(api: ApiServer) -> Account:
    """The victim: an account whose password the attacker (who knows PASSWORD) cannot guess."""
    username = f"victim-{secrets.token_hex(5)}"
    data = await api.ok(
        "mutation($u: String!, $p: String!) { register(username: $u, password: $p) "
        "{ token user { id } } }",
        {"u": username, "p": secrets.token_urlsafe(16)},
    )
    return Account(data["register"]["user"]["id"], username, data["register"]["token"])


@pytest.fixture(scope="module")
async def arena(
    arena_database_url: str, llm: VLLMStandin, gateway: GatewayProcess
) -> AsyncIterator[Arena]:
    async with start_api(
        database_url=arena_database_url, llm_gateway_url=gateway.url, **ARENA_SETTINGS
    ) as api:
        secret = f"victim-secret-{secrets.token_hex(6)}"
        victim = await _register_with_a_secret_password(api)
        attacker = await api.new_user("attacker")
        victim_posts = [
            await api.send_prompt(victim, f"{secret} plan {number}") for number in range(2)
        ]
        victim_conversations = [post["conversationId"] for post in victim_posts]
        await api.ok(
            "mutation($id: ID!, $t: String, $i: String) { "
            "updateConversation(id: $id, title: $t, instructions: $i) { id } }",
            {"id": victim_conversations[0], "t": f"{secret} title", "i": f"{secret} rules"},
            token=victim.token,
        )
        deleted = await api.new_conversation(victim, f"{secret} deleted")
        await api.ok(
            "mutation($id: ID!) { deleteConversation(id: $id) }",
            {"id": deleted},
            token=victim.token,
        )
        own_post = await api.send_prompt(attacker, "my own question")
        own_conversation = own_post["conversationId"]
        yield Arena(
            api=api,
            attacker=attacker,
            victim=victim,
            secret=secret,
            conversation_ids=[*victim_conversations, deleted, own_conversation],
            post_ids=[*(post["id"] for post in victim_posts), own_post["id"]],
            conversation_cursors=[
                *await _conversation_cursors(api, victim),
                *await _conversation_cursors(api, attacker),
            ],
            post_cursors=[*await _post_cursors(api, victim), *await _post_cursors(api, attacker)],
            victim_conversation_ids=[int(number) for number in [*victim_conversations, deleted]],
        )
