"""Usage: the tokens each user's answers took, per user per UTC day, kept in the database.

    usage = Usage()                                     # Usage(clock=...) in tests
    await usage.record(user_id, prompt_tokens=12, completion_tokens=40)   # as an answer ends
    days = await usage.days(user_id, 30)                # the last 30 days, oldest first
    today, month = await usage.totals(user_id)          # tokens used today and this month

Each answer adds to its day's row with one `UPDATE ... SET x = x + n`: processes sharing the
database count together without losing an answer, however many end at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from graphql_api.errors import BadUserInput
from graphql_api.models import UsageDay
from graphql_api.records import UsageDayRecord

MAX_DAYS = 366


def utc_now() -> datetime:
    return datetime.now(UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


class Usage:
    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        # What "today" is: the tests turn the day with their own clock.
        self.clock = clock

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    async def record(self, user_id: int, prompt_tokens: int, completion_tokens: int) -> None:
        """Add one answer's tokens to its user's row for today."""
        day = self.today()
        added = {
            "prompt_tokens": F("prompt_tokens") + prompt_tokens,
            "completion_tokens": F("completion_tokens") + completion_tokens,
            "prompts": F("prompts") + 1,
        }
        if await UsageDay.filter(user_id=user_id, day=day).update(**added):
            return
        try:
            await UsageDay.create(
                user_id=user_id,
                day=day,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                prompts=1,
            )
        except IntegrityError:  # another answer of theirs made today's row meanwhile
            await UsageDay.filter(user_id=user_id, day=day).update(**added)

    async def days(self, user_id: int, days: int) -> list[UsageDayRecord]:
        """The last `days` days up to today, oldest first, days without use as zeros."""
        return (await self.days_of_many([user_id], days))[user_id]

    async def days_of_many(self, user_ids: list[int], days: int) -> dict[int, list[UsageDayRecord]]:
        """`days` for several users in one query (a page of users)."""
        if not 1 <= days <= MAX_DAYS:
            raise BadUserInput(
                f"days must be 1 to {MAX_DAYS}", reason="usage_days", min=1, max=MAX_DAYS
            )
        today = self.today()
        first = today - timedelta(days=days - 1)
        rows = await UsageDay.filter(user_id__in=user_ids, day__gte=first, day__lte=today).values(
            "user_id", "day", "prompt_tokens", "completion_tokens", "prompts"
        )
        found = {(int(row["user_id"]), row["day"]): row for row in rows}
        listed: dict[int, list[UsageDayRecord]] = {}
        for user_id in user_ids:
            listed[user_id] = []
            for offset in range(days):
                day = first + timedelta(days=offset)
                row = found.get((user_id, day))
                listed[user_id].append(
                    UsageDayRecord(
                        day=day,
                        prompt_tokens=int(row["prompt_tokens"]) if row else 0,
                        completion_tokens=int(row["completion_tokens"]) if row else 0,
                        prompts=int(row["prompts"]) if row else 0,
                    )
                )
        return listed

    async def totals(self, user_id: int) -> tuple[int, int]:
        """Tokens (prompt and completion) used today and this calendar month (UTC)."""
        return (await self.totals_of_many([user_id]))[user_id]

    async def totals_of_many(self, user_ids: list[int]) -> dict[int, tuple[int, int]]:
        today = self.today()
        rows = await UsageDay.filter(
            user_id__in=user_ids, day__gte=month_start(today), day__lte=today
        ).values("user_id", "day", "prompt_tokens", "completion_tokens")
        used = {user_id: [0, 0] for user_id in user_ids}
        for row in rows:
            tokens = int(row["prompt_tokens"]) + int(row["completion_tokens"])
            counts = used[int(row["user_id"])]
            counts[1] += tokens
            if row["day"] == today:
                counts[0] += tokens
        return {user_id: (today_, month) for user_id, (today_, month) in used.items()}
