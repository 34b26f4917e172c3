"""Validation of job submissions: one code path for Kafka intake and the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from pydantic import ValidationError

from services.ingest.domain.schedules import next_fire
from shared.events import MAX_EVENT_BYTES, JobConfig


@dataclass(frozen=True)
class Accepted:
    config: JobConfig


@dataclass(frozen=True)
class Rejected:
    reasons: list[str]


def unstorable_text(value: Any, path: str = "") -> list[str]:
    """Where `value` holds text PostgreSQL cannot store: NUL characters and unpaired surrogates
    (which JSON can carry as escapes)."""
    if isinstance(value, str):
        bad = "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value)
        return [f"{path or '<root>'}: contains a NUL character or an unpaired surrogate"] if bad else []
    if isinstance(value, dict):
        problems = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            problems += unstorable_text(key, where) + unstorable_text(item, where)
        return problems
    if isinstance(value, list | tuple):
        return [
            problem
            for index, item in enumerate(value)
            for problem in unstorable_text(item, f"{path}.{index}")
        ]
    return []


def validate_job_config(raw: dict[str, Any], *, search_provider: str | None) -> Accepted | Rejected:
    """A JobConfig, or every reason it is not one (field path first, as users fix them).
    Keywords are searched with `search_provider`: without one, a job with keywords is refused."""
    if problems := unstorable_text(raw):
        return _rejected(problems)
    try:
        config = JobConfig.model_validate(raw)
    except ValidationError as exc:
        return _rejected([_describe(error) for error in exc.errors()])
    reasons = _url_problems(config) + _schedule_problems(config) + _size_problems(config)
    reasons += _search_problems(config, search_provider)
    return _rejected(reasons) if reasons else Accepted(config)


# What browsers and servers take in practice (RFC 9110 asks for at least 8,000 octets).
MAX_URL_LENGTH = 8192
# The envelope's headers and the ids JobCreated adds to the configuration.
_EVENT_OVERHEAD = 4096


def _url_problems(config: JobConfig) -> list[str]:
    return [
        f"seeds.{index}: a URL of {len(str(seed)):,} characters; at most {MAX_URL_LENGTH:,} are accepted"
        for index, seed in enumerate(config.seeds)
        if len(str(seed)) > MAX_URL_LENGTH
    ]


def _size_problems(config: JobConfig) -> list[str]:
    """Every run of the job carries its configuration in a JobCreated event: one too large to
    publish would fail every run, so the job is refused now."""
    size = len(config.model_dump_json()) + _EVENT_OVERHEAD
    if size <= MAX_EVENT_BYTES:
        return []
    return [
        f"the job's configuration is {size:,} bytes as an event; at most {MAX_EVENT_BYTES:,} fit "
        "(the seeds, options, schema and queries together): make them smaller"
    ]


def _search_problems(config: JobConfig, search_provider: str | None) -> list[str]:
    if not config.keywords or search_provider is not None:
        return []
    return [
        "keywords: no search provider is configured to search them: set TRAWL_SEARXNG_URL (a SearXNG "
        "instance with its JSON output on) or TRAWL_BRAVE_API_KEY (the Brave Search API)"
    ]


def _rejected(reasons: list[str]) -> Rejected:
    """Reasons quote what was sent; escape what could not be stored or sent on."""
    return Rejected(
        [reason if not unstorable_text(reason) else escape_unstorable(reason) for reason in reasons]
    )


def escape_unstorable(text: str) -> str:
    """`text` with NUL characters and unpaired surrogates written as \\uXXXX escapes."""
    return "".join(
        char if char != "\x00" and not "\ud800" <= char <= "\udfff" else f"\\u{ord(char):04x}"
        for char in text
    )


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def _schedule_problems(config: JobConfig) -> list[str]:
    if config.schedule is None:
        return []
    cron, timezone = config.schedule.cron, config.schedule.timezone
    problems = []
    if not croniter.is_valid(cron):
        problems.append(f"schedule.cron: {cron!r} is not a valid cron expression")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problems.append(f"schedule.timezone: unknown time zone {timezone!r}")
    if not problems:
        try:
            next_fire(cron, timezone, datetime.now(UTC))
        except CroniterError:
            problems.append(f"schedule.cron: {cron!r} never fires")
    return problems
