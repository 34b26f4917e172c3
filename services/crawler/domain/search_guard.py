"""What keeps a search provider usable: its pace, its monthly quota, its circuit breaker, and
when a failed search is tried again. Pure rules over a provider's shared state (kept in
Postgres so that every crawler process sees the same): times are Unix seconds.

The breaker opens after `threshold` failures in a row that say the provider is unwell — `429`,
a CAPTCHA or block page, a `5xx`, no answer — for `cooldown` seconds (longer when the provider
said `Retry-After`); while it is open, searches wait rather than hammer it. One success closes
it. A refused request (another `4xx`: a wrong key, a bad parameter) does not trip it: it is our
fault, and retrying will not help, so the search fails at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.crawler.domain.search_results import ProviderError


@dataclass(frozen=True)
class ProviderState:
    failures: int  # in a row
    open_until: float | None  # the breaker is open until then
    next_request_at: float  # the earliest the next request may go, at the provider's rate


@dataclass(frozen=True)
class Guard:
    rate_per_second: float
    monthly_quota: int | None
    breaker_threshold: int
    breaker_cooldown: float


@dataclass(frozen=True)
class Admission:
    """May a search call the provider now: `wait` seconds before it does, or `blocked_for`
    seconds before it may try (the breaker is open), or never this month (`quota_spent`)."""

    state: ProviderState
    wait: float = 0.0
    blocked_for: float | None = None
    quota_spent: bool = False


def admit(state: ProviderState, guard: Guard, *, now: float, used_this_month: int) -> Admission:
    """Whether one more request may go, and the provider's state once it is counted."""
    if state.open_until is not None and state.open_until > now:
        return Admission(state, blocked_for=state.open_until - now)
    if guard.monthly_quota is not None and used_this_month >= guard.monthly_quota:
        return Admission(state, quota_spent=True)
    slot = max(now, state.next_request_at)
    counted = ProviderState(state.failures, state.open_until, slot + 1.0 / guard.rate_per_second)
    return Admission(counted, wait=slot - now)


def after_success(state: ProviderState) -> ProviderState:
    return ProviderState(0, None, state.next_request_at)


def after_failure(state: ProviderState, error: ProviderError, guard: Guard, *, now: float) -> ProviderState:
    """A failure that says the provider is unwell counts; enough in a row open the breaker."""
    if not error.trips_breaker:
        return state
    failures = state.failures + 1
    open_until = state.open_until
    if failures >= guard.breaker_threshold or error.retry_after is not None:
        open_until = now + max(guard.breaker_cooldown, error.retry_after or 0.0)
    return ProviderState(failures, open_until, state.next_request_at)


def retry_in(attempts: int, error: ProviderError, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before a failed search is tried again: the provider's Retry-After, or an
    exponential backoff with jitter (so that many waiting searches do not return at once)."""
    if error.retry_after is not None:
        return error.retry_after
    backoff: float = min(cap, base * 2.0 ** max(0, attempts - 1))
    return backoff * rng.uniform(0.5, 1.0)
