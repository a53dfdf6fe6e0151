"""When quotas start again: the next UTC midnight, the first of the next month."""

from __future__ import annotations

from datetime import UTC, date, datetime

from graphql_api.services.quotas import next_day, next_month


def test_a_daily_quota_resets_at_the_next_utc_midnight_across_months_and_years() -> None:
    assert next_day(date(2030, 5, 10)) == datetime(2030, 5, 11, tzinfo=UTC)
    assert next_day(date(2030, 1, 31)) == datetime(2030, 2, 1, tzinfo=UTC)
    assert next_day(date(2028, 2, 28)) == datetime(2028, 2, 29, tzinfo=UTC)
    assert next_day(date(2030, 12, 31)) == datetime(2031, 1, 1, tzinfo=UTC)


def test_a_monthly_quota_resets_on_the_first_of_the_next_month() -> None:
    assert next_month(date(2030, 1, 1)) == datetime(2030, 2, 1, tzinfo=UTC)
    assert next_month(date(2030, 1, 31)) == datetime(2030, 2, 1, tzinfo=UTC)
    assert next_month(date(2030, 2, 28)) == datetime(2030, 3, 1, tzinfo=UTC)
    assert next_month(date(2030, 12, 15)) == datetime(2031, 1, 1, tzinfo=UTC)
