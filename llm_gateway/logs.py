"""Logging with the caller's request id on every line about its request.

install_request_ids()                # every log record gets `request_id`
configure_logging("INFO")            # `python -m llm_gateway` does both
token = request_id.set("abc123")     # the app does this per request
logger.info("...")                   # ... [abc123] ...
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str] = ContextVar("request_id", default="-")

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


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


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors: time, level, logger, message, request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str = "text") -> None:
    install_request_ids()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
