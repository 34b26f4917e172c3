from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from shared.logging import (
    REDACTED,
    bind_log_context,
    configure_logging,
    current_log_context,
    log_context,
    parse_level,
    reset_log_context,
    stop_logging,
)

log = logging.getLogger("trawl.test")


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Configures JSON logging into a buffer; calling the result flushes and parses it."""
    root = logging.getLogger()
    previous_level = root.level
    buffer = io.StringIO()
    configure_logging("testsvc", "INFO", True, stream=buffer)

    def read() -> list[dict[str, Any]]:
        stop_logging()
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield read
    stop_logging()
    root.setLevel(previous_level)


def test_json_line_shape(json_lines: Callable[[], list[dict[str, Any]]]) -> None:
    log.info("fetched %s", "https://example.org", extra={"status": 200, "doc": UUID(int=1)})
    log.debug("not at INFO")

    [line] = json_lines()

    assert line["level"] == "INFO"
    assert line["logger"] == "trawl.test"
    assert line["service"] == "testsvc"
    assert line["message"] == "fetched https://example.org"
    assert line["status"] == 200
    assert line["doc"] == str(UUID(int=1))
    ts = dt.datetime.fromisoformat(line["ts"])
    assert ts.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - ts).total_seconds()) < 60


def test_exception_text(json_lines: Callable[[], list[dict[str, Any]]]) -> None:
    try:
        raise ValueError("bad input")
    except ValueError:
        log.exception("handler failed")

    [line] = json_lines()

    assert line["level"] == "ERROR"
    assert line["message"] == "handler failed"
    assert "Traceback" in line["exception"]
    assert "ValueError: bad input" in line["exception"]


def test_extra_cannot_overwrite_base_fields(json_lines: Callable[[], list[dict[str, Any]]]) -> None:
    log.warning("hello", extra={"service": "spoofed", "level": "DEBUG"})

    [line] = json_lines()

    assert (line["service"], line["level"]) == ("testsvc", "WARNING")


def test_context_fields_inside_and_after(json_lines: Callable[[], list[dict[str, Any]]]) -> None:
    with log_context(event_id="evt-1", run_id="run-9", tenant_id=None, event_type="page.fetched"):
        log.info("inside")
        with log_context(event_id="evt-2"):
            log.info("nested")
        log.info("inside again", extra={"run_id": "explicit"})
    log.info("outside")

    inside, nested, inside_again, outside = json_lines()

    assert inside["event_id"] == "evt-1"
    assert inside["run_id"] == "run-9"
    assert inside["event_type"] == "page.fetched"
    assert "tenant_id" not in inside
    assert (nested["event_id"], nested["run_id"]) == ("evt-2", "run-9")
    assert (inside_again["event_id"], inside_again["run_id"]) == ("evt-1", "explicit")
    for key in ("event_id", "run_id", "event_type"):
        assert key not in outside


async def test_context_follows_tasks_but_not_siblings(json_lines: Callable[[], list[dict[str, Any]]]) -> None:
    async def handler(event_id: str) -> None:
        with log_context(event_id=event_id):
            await asyncio.sleep(0.01)
            await asyncio.create_task(asyncio.to_thread(log.info, "from a thread"))
            log.info("handled")

    await asyncio.gather(handler("a"), handler("b"))

    lines = json_lines()
    assert sorted((line["message"], line["event_id"]) for line in lines) == [
        ("from a thread", "a"),
        ("from a thread", "b"),
        ("handled", "a"),
        ("handled", "b"),
    ]


def test_bind_and_reset() -> None:
    token = bind_log_context(run_id="r1")
    try:
        assert current_log_context() == {"run_id": "r1"}
    finally:
        reset_log_context(token)
    assert current_log_context() == {}


def test_secrets_are_redacted(json_lines: Callable[[], list[dict[str, Any]]]) -> None:
    with log_context(internal_token="tok-123"):
        log.info(
            "calling upstream",
            extra={
                "password": "hunter2",
                "api_key": "k-456",
                "headers": {"Authorization": "Bearer abc", "Accept": "text/html"},
                "sources": [{"client_secret": "s-789", "name": "crawler"}],
                "user": "bob",
            },
        )

    [line] = json_lines()

    assert line["password"] == REDACTED
    assert line["api_key"] == REDACTED
    assert line["internal_token"] == REDACTED
    assert line["headers"] == {"Authorization": REDACTED, "Accept": "text/html"}
    assert line["sources"] == [{"client_secret": REDACTED, "name": "crawler"}]
    assert line["user"] == "bob"
    raw = json.dumps(line)
    for secret in ("hunter2", "k-456", "tok-123", "Bearer abc", "s-789"):
        assert secret not in raw


def test_text_mode() -> None:
    buffer = io.StringIO()
    root = logging.getLogger()
    previous_level = root.level
    try:
        configure_logging("testsvc", "debug", False, stream=buffer)
        with log_context(run_id="r1"):
            log.debug("plain %d", 1, extra={"password": "hunter2"})
        stop_logging()
    finally:
        root.setLevel(previous_level)

    line = buffer.getvalue().strip()
    assert "DEBUG" in line and "[testsvc] plain 1" in line
    assert "run_id=r1" in line and f"password={REDACTED}" in line
    assert "hunter2" not in line


def test_parse_level() -> None:
    assert parse_level("warning") == logging.WARNING
    with pytest.raises(ValueError):
        parse_level("LOUD")
