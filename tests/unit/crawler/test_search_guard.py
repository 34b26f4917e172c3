"""The search provider's pace, quota and breaker, as pure rules."""

from __future__ import annotations

import random

from services.crawler.domain.search_guard import (
    Guard,
    ProviderState,
    admit,
    after_failure,
    after_success,
    retry_in,
)
from services.crawler.domain.search_results import ProviderError, ProviderRefusal

GUARD = Guard(rate_per_second=2.0, monthly_quota=3, breaker_threshold=3, breaker_cooldown=60.0)
FRESH = ProviderState(failures=0, open_until=None, next_request_at=0.0)


def test_requests_take_turns_at_the_providers_rate() -> None:
    state, waits = FRESH, []
    for _ in range(3):
        admission = admit(state, GUARD, now=100.0, used_this_month=0)
        waits.append(admission.wait)
        state = admission.state
    assert waits == [0.0, 0.5, 1.0]
    # Later requests do not make up for idle time: the next turn is now, not in the past.
    assert admit(state, GUARD, now=500.0, used_this_month=0).wait == 0.0


def test_the_monthly_quota_stops_requests() -> None:
    assert not admit(FRESH, GUARD, now=1.0, used_this_month=2).quota_spent
    spent = admit(FRESH, GUARD, now=1.0, used_this_month=3)
    assert spent.quota_spent and spent.state == FRESH  # nothing counted
    unlimited = Guard(1.0, None, 3, 60.0)
    assert not admit(FRESH, unlimited, now=1.0, used_this_month=10**9).quota_spent


def test_the_breaker_opens_after_failures_in_a_row_and_one_success_closes_it() -> None:
    server = ProviderError(ProviderRefusal.SERVER, "500")
    state = FRESH
    for _ in range(2):
        state = after_failure(state, server, GUARD, now=10.0)
    assert state.open_until is None and admit(state, GUARD, now=10.0, used_this_month=0).blocked_for is None
    state = after_failure(state, server, GUARD, now=10.0)
    assert state.open_until == 70.0
    assert admit(state, GUARD, now=30.0, used_this_month=0).blocked_for == 40.0
    assert admit(state, GUARD, now=70.5, used_this_month=0).blocked_for is None  # half-open: one may try
    closed = after_success(state)
    assert (closed.failures, closed.open_until) == (0, None)


def test_retry_after_opens_the_breaker_at_once_for_that_long() -> None:
    limited = ProviderError(ProviderRefusal.RATE_LIMITED, "429", retry_after=300.0)
    assert after_failure(FRESH, limited, GUARD, now=0.0).open_until == 300.0
    short = ProviderError(ProviderRefusal.RATE_LIMITED, "429", retry_after=1.0)
    assert after_failure(FRESH, short, GUARD, now=0.0).open_until == 60.0  # never shorter than the cooldown


def test_a_refused_request_is_not_the_providers_failure() -> None:
    refused = ProviderError(ProviderRefusal.REFUSED, "401")
    assert after_failure(FRESH, refused, GUARD, now=0.0) == FRESH


def test_retries_back_off_with_jitter_and_honour_retry_after() -> None:
    rng = random.Random(1)
    server = ProviderError(ProviderRefusal.SERVER, "502")
    waits = [retry_in(attempt, server, base=2.0, cap=30.0, rng=rng) for attempt in range(1, 7)]
    ceilings = [min(30.0, 2.0 * 2 ** (n - 1)) for n in range(1, 7)]
    assert all(ceiling / 2 <= wait <= ceiling for wait, ceiling in zip(waits, ceilings, strict=True))
    told = ProviderError(ProviderRefusal.RATE_LIMITED, "429", retry_after=7.0)
    assert retry_in(1, told, base=2.0, cap=30.0, rng=rng) == 7.0
