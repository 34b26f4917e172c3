"""How long to wait: Retry-After, retry backoff, and an adaptive per-host delay."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_SECONDS = 3600.0  # a server may not park a crawl for longer than this


def parse_retry_after(
    value: str | None, now: datetime, *, cap: float = MAX_RETRY_AFTER_SECONDS
) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), between 0
    and `cap`; None when there is no usable header. `now` must be timezone-aware."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), cap)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), cap)


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before retry number `attempt` (1 for the first retry): exponential backoff with
    full jitter, uniform in [0, min(cap, base * 2 ** (attempt - 1))]."""
    exponent = min(max(attempt - 1, 0), 62)  # beyond that the cap wins anyway
    return rng.uniform(0.0, min(cap, base * math.ldexp(1.0, exponent)))


@dataclass
class AutoThrottle:
    """Scrapy's AutoThrottle: aim for `target_concurrency` requests in flight per host by
    moving the delay half way towards latency / target_concurrency after each response."""

    target_concurrency: float = 1.0
    min_delay: float = 0.0
    max_delay: float = 60.0

    def next_delay(self, current: float, latency: float, status: int) -> float:
        target = latency / self.target_concurrency
        proposed = max(target, (current + target) / 2.0)
        proposed = min(max(self.min_delay, proposed), self.max_delay)
        # An error response is often fast; it must not speed the crawl up.
        if status != 200 and proposed <= current:
            return current
        return proposed


def is_retryable_status(status: int) -> bool:
    """5xx, 408 Request Timeout and 429 Too Many Requests are worth another try."""
    return 500 <= status < 600 or status in (408, 429)


def is_final_client_error(status: int) -> bool:
    """Other 4xx: retrying will not help; record the outcome and move on."""
    return 400 <= status < 500 and not is_retryable_status(status)
