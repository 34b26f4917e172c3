"""Token bucket per API key: `rate` requests per second on average, bursts up to `capacity`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Bucket:
    tokens: float
    refilled_at: datetime


@dataclass(frozen=True)
class Decision:
    allowed: bool
    bucket: Bucket
    retry_after: float  # seconds until one token is back; 0 when allowed


def take(bucket: Bucket | None, now: datetime, *, rate: float, capacity: float) -> Decision:
    """Refill for the time passed, then take one token if there is one."""
    if bucket is None:
        tokens = capacity
    else:
        elapsed = max((now - bucket.refilled_at).total_seconds(), 0.0)
        tokens = min(capacity, bucket.tokens + elapsed * rate)
    if tokens >= 1.0:
        return Decision(True, Bucket(tokens - 1.0, now), 0.0)
    return Decision(False, Bucket(tokens, now), (1.0 - tokens) / rate)
