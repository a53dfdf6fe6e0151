"""Logging with the caller's request id on every line about its request, times in UTC
(ISO 8601 with the zone, as the API writes them).

install_request_ids()                # every log record gets `request_id`
configure_logging("INFO")            # `python -m llm_gateway` does both
token = request_id.set(accepted_request_id(header))   # the app does this per request
logger.info("...")                   # 2026-12-03T15:04:05.123+00:00 INFO ... [abc123] ...
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger import json as jsonlogger

request_id: ContextVar[str] = ContextVar("request_id", default="-")

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# The rule the API applies too: anything else in the header is replaced, so that a caller
# cannot write into the log lines.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def accepted_request_id(incoming: str | None) -> str:
    """The caller's `X-Request-ID` when well formed, else a new one."""
    if incoming is not None and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return secrets.token_hex(8)


def install_request_ids() -> None:
    """Stamp every log record with the request id of the task (or thread) that logs it."""
    current = logging.getLogRecordFactory()
    if getattr(current, "stamps_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    factory.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def utc_time(record: logging.LogRecord) -> str:
    """2026-12-02T19:03:13.123+00:00"""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_time(record)


class JsonFormatter(jsonlogger.JsonFormatter):
    """One JSON object per line, for log collectors: time, level, logger, message, request id."""

    def __init__(self) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_time(record)


def configure_logging(level: str, fmt: str = "text") -> None:
    install_request_ids()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
