"""Cron schedules in a time zone: when a job fires next, and which fire is due now.

After downtime only the latest missed fire runs: a schedule that missed ten fires runs once,
then carries on from the next fire after now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first fire strictly after `after`, in UTC."""
    local = after.astimezone(ZoneInfo(timezone))
    fire: datetime = croniter(cron, local).get_next(datetime)
    return fire.astimezone(UTC)


def latest_fire(cron: str, timezone: str, at_or_before: datetime) -> datetime:
    """The last fire at or before the given moment, in UTC."""
    local = at_or_before.astimezone(ZoneInfo(timezone))
    if croniter.match(cron, local):
        return local.replace(second=0, microsecond=0).astimezone(UTC)
    fire: datetime = croniter(cron, local).get_prev(datetime)
    return fire.astimezone(UTC)


@dataclass(frozen=True)
class Due:
    fire_at: datetime  # the fire to run now (the latest one that was missed)
    next_fire_at: datetime


def due(cron: str, timezone: str, next_fire_at: datetime, now: datetime) -> Due | None:
    """None while the next fire is in the future."""
    if next_fire_at > now:
        return None
    return Due(fire_at=latest_fire(cron, timezone, now), next_fire_at=next_fire(cron, timezone, now))
