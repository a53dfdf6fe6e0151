"""The concurrency limit and its bounded queue."""

from __future__ import annotations

import asyncio

import pytest

from llm_gateway.admission import Admission
from llm_gateway.errors import GatewayError


async def test_waiters_get_slots_in_the_order_they_came() -> None:
    admission = Admission(limit=1, max_queue=5, queue_timeout=5)
    order: list[int] = []

    async def use(number: int) -> None:
        async with admission.slot():
            order.append(number)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(use(n) for n in range(4)))
    assert order == [0, 1, 2, 3]
    assert (admission.running, admission.queued) == (0, 0)


async def test_a_full_queue_refuses_at_once() -> None:
    admission = Admission(limit=1, max_queue=1, queue_timeout=5)
    release = asyncio.Event()

    async def hold() -> None:
        async with admission.slot():
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    await asyncio.sleep(0.01)
    assert (admission.running, admission.queued) == (1, 1)
    with pytest.raises(GatewayError) as refused:
        async with admission.slot():
            pass
    assert (refused.value.status, refused.value.code) == (429, "queue_full")
    release.set()
    await asyncio.gather(*holders)
    assert (admission.running, admission.queued) == (0, 0)


async def test_a_waiter_that_is_cancelled_leaves_no_slot_taken() -> None:
    admission = Admission(limit=1, max_queue=5, queue_timeout=5)
    release = asyncio.Event()

    async def hold() -> None:
        async with admission.slot():
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    waiter.cancel()
    await asyncio.sleep(0)
    assert admission.queued == 0
    release.set()
    await holder
    assert admission.running == 0
