"""Structured logging: one JSON object per line, with per-task context and redaction.

Call `configure_logging` once at process start. Inside an event handler::

    with log_context(event_id=event.id, run_id=event.run_id):
        log.info("fetched page", extra={"url": url})

and every line logged in that block (and in tasks started from it) carries the ids.

Records are formatted in the logging caller's context (so context variables are seen)
and written by a background thread through a queue, so a slow stderr never stalls the
event loop.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json as jsonlib
import logging
import logging.handlers
import queue
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from types import MappingProxyType
from typing import TextIO
from uuid import UUID

REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(r"password|passwd|secret|token|authorization|api[_-]?key|cookie", re.IGNORECASE)

# Attributes every LogRecord has; anything else on a record came from `extra=` or our context.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}
_EMPTY: Mapping[str, object] = MappingProxyType({})
_log_context: ContextVar[Mapping[str, object]] = ContextVar("trawl_log_context", default=_EMPTY)

_listener: logging.handlers.QueueListener | None = None


# -- context ------------------------------------------------------------------------------


def bind_log_context(**fields: object) -> Token[Mapping[str, object]]:
    """Add fields to the context of this task (None values are skipped); undo with the token."""
    merged = {**_log_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    return _log_context.set(MappingProxyType(merged))


def reset_log_context(token: Token[Mapping[str, object]]) -> None:
    _log_context.reset(token)


def current_log_context() -> Mapping[str, object]:
    return _log_context.get()


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Fields (event_id, run_id, tenant_id, event_type, ...) on every line logged inside."""
    token = bind_log_context(**fields)
    try:
        yield
    finally:
        reset_log_context(token)


# -- filters ------------------------------------------------------------------------------


def is_secret_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def redact(value: object) -> object:
    """A copy of `value` with the values of secret-looking keys replaced, at any depth."""
    if isinstance(value, Mapping):
        return {k: REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def extra_fields(record: logging.LogRecord) -> dict[str, object]:
    """The fields a record carries beyond the standard ones (extra= and context)."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}


class ContextFilter(logging.Filter):
    """Copies the task's log context onto the record; `extra=` fields win over context."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _log_context.get().items():
            if key not in record.__dict__:
                record.__dict__[key] = value
        return True


class RedactingFilter(logging.Filter):
    """Replaces values of extra/context fields whose names look like credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in extra_fields(record).items():
            record.__dict__[key] = REDACTED if is_secret_key(key) else redact(value)
        return True


# -- formatters ---------------------------------------------------------------------------


def _iso_utc(created: float) -> str:
    stamp = dt.datetime.fromtimestamp(created, tz=dt.UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID | Decimal | PurePath):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return repr(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the base fields cannot be overwritten by extra fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": _iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "service": self._service,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            payload.setdefault(key, value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(payload, default=_json_default, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal: the same fields, as key=value after the message."""

    def __init__(self, service: str) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [" + service + "] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = extra_fields(record)
        if not fields:
            return line
        head, newline, rest = line.partition("\n")
        pairs = " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{head} {pairs}{newline}{rest}"


# -- setup --------------------------------------------------------------------------------


class _TrawlQueueHandler(logging.handlers.QueueHandler):
    """Marks the handler we install, so reconfiguring replaces only ours (not pytest's)."""


def parse_level(level: str) -> int:
    levels = logging.getLevelNamesMapping()
    try:
        return levels[level.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}") from None


def configure_logging(service: str, level: str, json: bool, *, stream: TextIO | None = None) -> None:
    """Send all logging (root logger) to `stream` (stderr) as JSON or text lines.

    Safe to call again: the previous Trawl handler is flushed and replaced.
    """
    global _listener
    stop_logging()

    formatter: logging.Formatter = JsonFormatter(service) if json else TextFormatter(service)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    queue_handler = _TrawlQueueHandler(records)
    queue_handler.addFilter(ContextFilter())
    queue_handler.addFilter(RedactingFilter())
    # QueueHandler.prepare() formats in the caller's thread and context, so the writer
    # thread only writes finished lines.
    queue_handler.setFormatter(formatter)

    writer = logging.StreamHandler(stream if stream is not None else sys.stderr)
    writer.setFormatter(logging.Formatter("%(message)s"))
    _listener = logging.handlers.QueueListener(records, writer)
    _listener.start()

    root = logging.getLogger()
    root.addHandler(queue_handler)
    root.setLevel(parse_level(level))
    logging.captureWarnings(True)


def stop_logging() -> None:
    """Write out every queued line and stop the writer thread (also run at exit)."""
    global _listener
    listener, _listener = _listener, None
    if listener is not None:
        listener.stop()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _TrawlQueueHandler)]:
        root.removeHandler(handler)


atexit.register(stop_logging)
