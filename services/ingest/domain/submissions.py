"""Validation of job submissions: one code path for Kafka intake and the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import ValidationError

from shared.events import JobConfig


@dataclass(frozen=True)
class Accepted:
    config: JobConfig


@dataclass(frozen=True)
class Rejected:
    reasons: list[str]


def validate_job_config(raw: dict[str, Any]) -> Accepted | Rejected:
    """A JobConfig, or every reason it is not one (field path first, as users fix them)."""
    try:
        config = JobConfig.model_validate(raw)
    except ValidationError as exc:
        return Rejected([_describe(error) for error in exc.errors()])
    reasons = _schedule_problems(config)
    return Rejected(reasons) if reasons else Accepted(config)


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def _schedule_problems(config: JobConfig) -> list[str]:
    if config.schedule is None:
        return []
    problems = []
    if not croniter.is_valid(config.schedule.cron):
        problems.append(f"schedule.cron: {config.schedule.cron!r} is not a valid cron expression")
    try:
        ZoneInfo(config.schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"schedule.timezone: unknown time zone {config.schedule.timezone!r}")
    return problems
