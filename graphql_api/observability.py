"""Metrics and logs.

    metrics = Metrics()                      # one registry per app, served at GET /metrics
    configure_logging(settings)              # JSON lines in production, text in development
    request_id.set("abc123")                 # every log line of this task carries it

Logs never carry passwords, tokens or prompt text: nothing here logs request bodies or query
strings, and the access log records the path alone.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pythonjsonlogger import json as jsonlogger
from tortoise.context import TortoiseContext

from graphql_api.settings import Settings

if TYPE_CHECKING:
    from graphql_api.services.broker import Broker

request_id: ContextVar[str] = ContextVar("request_id", default="-")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.operations = Counter(
            "chat_graphql_operations",
            "GraphQL operations by root field and outcome (ok or the error code).",
            ["field", "outcome"],
            registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "chat_graphql_operation_seconds",
            "Time to execute a GraphQL query or mutation, by root field.",
            ["field"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._operation_counters: dict[tuple[str, str], Any] = {}
        self._operation_timers: dict[str, Any] = {}
        self.http_requests = Counter(
            "chat_http_requests",
            "HTTP requests by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "chat_http_request_seconds",
            "Time to answer an HTTP request, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "chat_answers",
            "Answers ended, by final status.",
            ["status"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "chat_tokens",
            "Tokens of the answers ended here, counted toward their users' usage: prompt or "
            "completion.",
            ["kind"],
            registry=self.registry,
        )
        self.quota_refusals = Counter(
            "chat_quota_refusals",
            "Prompts refused because their user had used a token quota up: daily or monthly.",
            ["quota"],
            registry=self.registry,
        )
        self.answers_in_flight = Gauge(
            "chat_answers_in_flight",
            "Answers this process is writing now.",
            registry=self.registry,
        )
        self.websockets = Gauge(
            "chat_websocket_connections",
            "Open WebSocket connections.",
            registry=self.registry,
        )
        self.broker_listening = Gauge(
            "chat_redis_listening",
            "1 while this process hears the other API processes through Redis (always 1 "
            "without Redis), 0 while Redis is away.",
            registry=self.registry,
        )
        self.pool = Gauge(
            "chat_database_pool_connections",
            "Database pool connections by state (MariaDB).",
            ["state"],
            registry=self.registry,
        )

    def count_operation(self, field: str, outcome: str, seconds: float) -> None:
        """One query or mutation ended: by root field and outcome, and its time. The label
        children are kept: looking them up costs more than counting."""
        counter = self._operation_counters.get((field, outcome))
        if counter is None:
            counter = self._operation_counters[(field, outcome)] = self.operations.labels(
                field, outcome
            )
        timer = self._operation_timers.get(field)
        if timer is None:
            timer = self._operation_timers[field] = self.operation_seconds.labels(field)
        counter.inc()
        timer.observe(seconds)

    def watch_broker(self, broker: Broker) -> None:
        """Report whether signals from other API processes reach this one."""
        self.broker_listening.set_function(lambda: 1.0 if broker.listening else 0.0)

    def watch_pool(self, database: TortoiseContext) -> None:
        """Report the pool's state whenever the metrics are read."""
        client = database.db()

        def reading(attribute: str) -> Any:
            def read() -> float:
                pool = getattr(client, "_pool", None)
                return float(getattr(pool, attribute, 0) or 0) if pool is not None else 0.0

            return read

        self.pool.labels("open").set_function(reading("size"))
        self.pool.labels("idle").set_function(reading("freesize"))
        self.pool.labels("max").set_function(reading("maxsize"))


def utc_time(record: logging.LogRecord) -> str:
    """The record's time in UTC, ISO 8601 with its zone: 2026-12-02T19:03:13.123+00:00 (as
    the gateway writes it)."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_time(record)


class JsonFormatter(jsonlogger.JsonFormatter):
    """One JSON object per line: time, level, logger, message, request id, and the extra
    fields a log call gives (the access log's method, path, status, duration_ms)."""

    def __init__(self) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_time(record)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # Warnings (from drivers, say) go through the same handler, so every line is one format.
    logging.captureWarnings(True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # SQL statements carry prompt text; they are only logged when debugging is asked for.
    if settings.log_level != "DEBUG":
        logging.getLogger("tortoise").setLevel(logging.WARNING)
