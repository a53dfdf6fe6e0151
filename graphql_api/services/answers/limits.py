"""Per-user limits on answers: prompts per minute, and answers being written at once.

    slot = await limits.admit(user_id)     # RateLimited when either limit is reached
    ...                                     # the writer releases `slot` when the answer ends

Counted across every API process when they share Redis (`services.limits`).
"""

from __future__ import annotations

from graphql_api.errors import RateLimited
from graphql_api.services.limits import LimitReached, Slots, Ticket, Window
from graphql_api.settings import Settings

IN_FLIGHT_RETRY_SECONDS = 5


class AnswerLimits:
    def __init__(self, settings: Settings, prompts: Window, slots: Slots) -> None:
        self.settings = settings
        self.prompts = prompts
        self.slots = slots

    async def admit(self, user_id: int) -> Ticket:
        """Count one prompt and take one answer slot, or raise RateLimited with neither."""
        key = str(user_id)
        try:
            prompt = await self.prompts.admit(key, self.settings.prompts_per_minute)
        except LimitReached as full:
            raise RateLimited(
                "too many prompts; wait a moment",
                retry_after=full.retry_after,
                reason="prompts_per_minute",
                limit=self.settings.prompts_per_minute,
            ) from None
        try:
            return await self.slots.acquire(key, self.settings.max_answers_in_flight)
        except LimitReached:
            await self.prompts.release(prompt)
            raise RateLimited(
                f"you already have {self.settings.max_answers_in_flight} answers being "
                "written; wait or stop one",
                retry_after=IN_FLIGHT_RETRY_SECONDS,
                reason="answers_in_flight",
                limit=self.settings.max_answers_in_flight,
            ) from None

    async def release(self, slot: Ticket) -> None:
        """Give back a slot whose answer never started."""
        await self.slots.release(slot)
