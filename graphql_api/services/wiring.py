"""The services container, and the wiring that builds every service once per process.

    async with running(settings, metrics) as wiring:
        wiring.services.answers      # what resolvers and routes use
        wiring.database              # the Tortoise context each request enters
        wiring.broker                # signals between API processes (readiness reports it)

On the way in: the database (migrated), Redis when `REDIS_URL` is set, the services, the
answers a predecessor left in flight marked interrupted, and the background chores. On the
way out, the reverse: running answers are stopped and saved first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from tortoise.context import TortoiseContext

from graphql_api.database import open_database
from graphql_api.gateway_client import GatewayClient
from graphql_api.observability import Metrics
from graphql_api.services.accounts import Accounts
from graphql_api.services.admin import Admin
from graphql_api.services.answers import Answers
from graphql_api.services.answers.followers import Followers
from graphql_api.services.answers.limits import AnswerLimits
from graphql_api.services.answers.recovery import Recovery
from graphql_api.services.answers.writer import AnswerWriter
from graphql_api.services.api_keys import ApiKeys
from graphql_api.services.broker import Broker, make_broker
from graphql_api.services.catalog import ModelCatalog
from graphql_api.services.completions import Completions
from graphql_api.services.conversations import Conversations
from graphql_api.services.exporting import Exporting
from graphql_api.services.importing import Importing
from graphql_api.services.limits import make_slots, make_window
from graphql_api.services.quotas import Quotas
from graphql_api.services.search import Search
from graphql_api.services.sessions import Sessions
from graphql_api.services.sharing import Sharing
from graphql_api.services.single_sign_on import SingleSignOn
from graphql_api.services.titles import Titles
from graphql_api.services.usage import Usage
from graphql_api.settings import Settings

PROMPT_WINDOW_SECONDS = 60
SHARE_WINDOW_SECONDS = 60
KEY_MISS_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Services:
    """What the process builds once at start and every request shares."""

    settings: Settings
    metrics: Metrics
    accounts: Accounts
    conversations: Conversations
    answers: Answers
    followers: Followers
    catalog: ModelCatalog
    search: Search
    sessions: Sessions
    sharing: Sharing
    exporting: Exporting
    importing: Importing
    admin: Admin
    usage: Usage
    quotas: Quotas
    api_keys: ApiKeys
    completions: Completions
    # None unless OIDC_ISSUER is set.
    single_sign_on: SingleSignOn | None = None


@dataclass(frozen=True)
class Wiring:
    services: Services
    database: TortoiseContext
    broker: Broker


# Connections beyond those the streams followed from other processes hold (each waits in an
# XREAD), and how long a command waits for one when all are busy.
REDIS_SPARE_CONNECTIONS = 200
REDIS_WAIT_SECONDS = 10


def redis_client(url: str | None, max_streams: int) -> Redis | None:
    """The process's Redis client, or None without Redis. redis-py 8 caps a pool at 100
    connections and fails the next command ("Too many connections": seen with 200 users in
    bench/bench_load.py, logins and answers failing). This pool holds a connection for every
    stream the process may follow and REDIS_SPARE_CONNECTIONS more, and past them a command
    waits for one rather than failing."""
    if not url:
        return None
    pool = BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=max_streams + REDIS_SPARE_CONNECTIONS,
        timeout=REDIS_WAIT_SECONDS,
    )
    return Redis.from_pool(pool)


@asynccontextmanager
async def running(settings: Settings, metrics: Metrics) -> AsyncIterator[Wiring]:
    gateway = GatewayClient(settings.llm_gateway_url, read_timeout=settings.llm_request_timeout)
    redis = redis_client(settings.redis_url, settings.max_streams_per_process)
    try:
        async with open_database(settings) as database:
            with database:
                prefix = settings.redis_prefix
                broker = make_broker(redis, prefix)
                accounts = Accounts(settings, broker, redis)
                await accounts.revoked.refresh()
                api_keys = ApiKeys(
                    accounts,
                    make_window(redis, f"{prefix}:limit:api-key-misses", KEY_MISS_WINDOW_SECONDS),
                    settings.api_key_misses_per_minute,
                )
                slots = make_slots(redis, f"{prefix}:slots:answers")
                titles = Titles(gateway, enabled=settings.auto_titles)
                usage = Usage()
                quotas = Quotas(settings, usage, metrics)
                writer = AnswerWriter(
                    settings, gateway, broker, slots, metrics, titles, usage=usage
                )
                prompts = make_window(redis, f"{prefix}:limit:prompts", PROMPT_WINDOW_SECONDS)
                catalog = ModelCatalog(gateway, settings.default_model)
                limits = AnswerLimits(settings, prompts, slots)
                answers = Answers(settings, writer, limits, catalog, broker, quotas)
                followers = Followers(
                    writer,
                    broker,
                    per_user=settings.max_streams_per_user,
                    per_process=settings.max_streams_per_process,
                )
                recovery = Recovery(settings, writer, broker)
                single_sign_on = SingleSignOn(settings, accounts) if settings.oidc_issuer else None
                services = Services(
                    settings=settings,
                    metrics=metrics,
                    accounts=accounts,
                    conversations=Conversations(catalog, answers.stop_in_conversation),
                    catalog=catalog,
                    search=Search(),
                    sessions=Sessions(settings, accounts),
                    sharing=Sharing(
                        settings,
                        make_window(redis, f"{prefix}:limit:shares", SHARE_WINDOW_SECONDS),
                    ),
                    exporting=Exporting(),
                    importing=Importing(settings),
                    answers=answers,
                    followers=followers,
                    admin=Admin(
                        accounts,
                        stop_answers=answers.stop_all_of_user,
                        suspend_api_keys=api_keys.suspend_user,
                        reload_api_keys=api_keys.reload_user,
                    ),
                    usage=usage,
                    quotas=quotas,
                    api_keys=api_keys,
                    completions=Completions(answers, catalog),
                    single_sign_on=single_sign_on,
                )
                await broker.start(on_stop=writer.stop_local, on_revoke=accounts.revoked.add)
                await recovery.mark_interrupted(starting=True)
                metrics.watch_pool(database)
                metrics.watch_broker(broker)
                chores = [
                    asyncio.create_task(accounts.watch_sessions(), name="sessions"),
                    asyncio.create_task(api_keys.watch(), name="api-keys"),
                    asyncio.create_task(recovery.sweep(), name="sweep-interrupted"),
                    asyncio.create_task(writer.renew_slots(), name="renew-slots"),
                ]
                try:
                    yield Wiring(services=services, database=database, broker=broker)
                finally:
                    for chore in chores:
                        chore.cancel()
                    await asyncio.gather(*chores, return_exceptions=True)
                    await writer.aclose()
                    with contextlib.suppress(Exception):  # the database may be gone
                        await api_keys.flush_last_used()
                    await titles.aclose()
                    if single_sign_on is not None:
                        await single_sign_on.aclose()
                    accounts.close()
                    await broker.close()
    finally:
        await gateway.aclose()
        if redis is not None:
            await redis.aclose()
