"""The counters, in memory and in Redis (the real server at 127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from graphql_api.services.limits import (
    LimitReached,
    MemorySlots,
    MemoryWindow,
    RedisSlots,
    RedisWindow,
    Slots,
    Window,
    address_key,
)


async def connect() -> Redis:
    client = Redis.from_url("redis://127.0.0.1:6379/9", decode_responses=True)
    try:
        await client.ping()
    except RedisError:
        await client.aclose()
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable at 127.0.0.1:6379 and CI is set")
        pytest.skip("Redis is not reachable")
    return client


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = await connect()
    yield client
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def window(request: pytest.FixtureRequest) -> AsyncIterator[Window]:
    if request.param == "memory":
        yield MemoryWindow(seconds=60)
        return
    client = await connect()
    yield RedisWindow(client, f"unit-{secrets.token_hex(4)}", seconds=60)
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def slots(request: pytest.FixtureRequest) -> AsyncIterator[Slots]:
    if request.param == "memory":
        yield MemorySlots()
        return
    client = await connect()
    yield RedisSlots(client, f"unit-{secrets.token_hex(4)}")
    await client.aclose()


async def test_a_window_admits_up_to_its_limit_then_says_when_it_has_room(window: Window) -> None:
    for _ in range(3):
        await window.admit("k", limit=3)
    with pytest.raises(LimitReached) as full:
        await window.admit("k", limit=3)
    assert 55 < full.value.retry_after <= 60
    assert await window.count("k") == 3
    await window.admit("other", limit=3)


async def test_a_burst_gets_exactly_the_limit(window: Window) -> None:
    results = await asyncio.gather(
        *(window.admit("k", limit=5) for _ in range(40)), return_exceptions=True
    )
    assert sum(not isinstance(result, LimitReached) for result in results) == 5


async def test_a_released_ticket_gives_its_place_back(window: Window) -> None:
    first = await window.admit("k", limit=2)
    await window.admit("k", limit=2)
    await window.release(first)
    await window.admit("k", limit=2)
    with pytest.raises(LimitReached):
        await window.admit("k", limit=2)


async def test_a_reset_empties_the_key(window: Window) -> None:
    await window.admit("k", limit=1)
    await window.reset("k")
    assert await window.count("k") == 0


async def test_events_leave_the_window_as_it_slides() -> None:
    window = MemoryWindow(seconds=0.2)
    await window.admit("k", limit=1)
    with pytest.raises(LimitReached):
        await window.admit("k", limit=1)
    await asyncio.sleep(0.25)
    await window.admit("k", limit=1)


async def test_slots_are_held_until_released(slots: Slots) -> None:
    held = [await slots.acquire("u", limit=2) for _ in range(2)]
    with pytest.raises(LimitReached):
        await slots.acquire("u", limit=2)
    await slots.release(held[0])
    await slots.acquire("u", limit=2)


async def test_a_redis_slot_whose_holder_stops_renewing_frees_itself(redis: Redis) -> None:
    slots = RedisSlots(redis, f"unit-{secrets.token_hex(4)}", lease_seconds=0.3)
    kept = await slots.acquire("u", limit=2)
    await slots.acquire("u", limit=2)
    await asyncio.sleep(0.2)
    await slots.renew([kept])
    await asyncio.sleep(0.2)
    # The renewed one is held still; the other's lease has run out.
    await slots.acquire("u", limit=2)
    with pytest.raises(LimitReached):
        await slots.acquire("u", limit=2)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2::7", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("unknown", "unknown"),
    ],
)
def test_addresses_are_counted_by_ipv4_address_or_ipv6_64(address: str, key: str) -> None:
    assert address_key(address) == key
