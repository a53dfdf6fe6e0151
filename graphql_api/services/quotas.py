"""Quotas: tokens per UTC day and per month, a server default (`DAILY_TOKEN_QUOTA`,
`MONTHLY_TOKEN_QUOTA`) that an admin overrides per user.

    quota = await quotas.of(user_id)      # the limits, what is used, when it resets
    await quotas.admit(user_id)           # QUOTA_EXCEEDED at or over a quota

A prompt is refused before the model is asked once its user has used a quota up; one already
being written finishes. Usage is counted in the database as answers end, so processes that
share it refuse together; they can overspend only by the answers in flight, which are capped
per user (`MAX_ANSWERS_IN_FLIGHT`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from graphql_api.errors import QuotaExceeded, Unauthenticated
from graphql_api.models import User
from graphql_api.observability import Metrics
from graphql_api.records import QuotaRecord
from graphql_api.services.usage import Usage
from graphql_api.settings import Settings


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def next_day(day: date) -> datetime:
    return _midnight(day + timedelta(days=1))


def next_month(day: date) -> datetime:
    first = day.replace(day=1) + timedelta(days=32)
    return _midnight(first.replace(day=1))


class Quotas:
    def __init__(self, settings: Settings, usage: Usage, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.usage = usage
        self.metrics = metrics

    async def of(self, user_id: int) -> QuotaRecord:
        found = await self.of_many([user_id])
        if user_id not in found:
            raise Unauthenticated("your account no longer exists")
        return found[user_id]

    async def of_many(self, user_ids: list[int]) -> dict[int, QuotaRecord]:
        """`of` for several users in two queries (a page of users); a missing one is left out."""
        limits = await self._limits(user_ids)
        totals = await self.usage.totals_of_many(list(limits))
        return {
            user_id: self._record(daily, monthly, *totals[user_id])
            for user_id, (daily, monthly) in limits.items()
        }

    async def admit(self, user_id: int) -> None:
        """Nothing when the user may start an answer; QUOTA_EXCEEDED, saying when it resets,
        when they have used a quota up (the monthly one first: it lasts longer). One query
        without a quota, two with."""
        limits = await self._limits([user_id])
        daily, monthly = limits.get(user_id, (None, None))
        if daily is None and monthly is None:
            return
        quota = self._record(daily, monthly, *await self.usage.totals(user_id))
        today = self.usage.today()
        if quota.monthly_tokens is not None and quota.used_this_month >= quota.monthly_tokens:
            raise self._exceeded("monthly", quota.monthly_tokens, next_month(today))
        if quota.daily_tokens is not None and quota.used_today >= quota.daily_tokens:
            raise self._exceeded("daily", quota.daily_tokens, next_day(today))

    async def _limits(self, user_ids: list[int]) -> dict[int, tuple[int | None, int | None]]:
        """Each user's (daily, monthly) quota: their own, else the server's default."""
        rows = await User.filter(id__in=user_ids).values(
            "id", "daily_token_quota", "monthly_token_quota"
        )
        settings = self.settings
        return {
            int(row["id"]): (
                settings.daily_token_quota
                if row["daily_token_quota"] is None
                else int(row["daily_token_quota"]),
                settings.monthly_token_quota
                if row["monthly_token_quota"] is None
                else int(row["monthly_token_quota"]),
            )
            for row in rows
        }

    def _record(
        self, daily: int | None, monthly: int | None, used_today: int, used_month: int
    ) -> QuotaRecord:
        today = self.usage.today()
        resets_at = None
        if daily is not None:
            resets_at = next_day(today)
        elif monthly is not None:
            resets_at = next_month(today)
        return QuotaRecord(
            daily_tokens=daily,
            monthly_tokens=monthly,
            used_today=used_today,
            used_this_month=used_month,
            resets_at=resets_at,
        )

    def _exceeded(self, period: str, limit: int, resets_at: datetime) -> QuotaExceeded:
        if self.metrics is not None:
            self.metrics.quota_refusals.labels(period).inc()
        wait = max(1, round((resets_at - self.usage.clock()).total_seconds()))
        return QuotaExceeded(
            f"you have used your {period} quota of {limit} tokens; it resets at "
            f"{resets_at:%Y-%m-%d %H:%M} UTC",
            reason=f"{period}_token_quota",
            limit=limit,
            resetsAt=resets_at.isoformat(),
            retryAfter=wait,
        )
