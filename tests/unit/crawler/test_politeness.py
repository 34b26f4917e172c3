import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.crawler.domain.politeness import (
    MAX_RETRY_AFTER_SECONDS,
    AutoThrottle,
    backoff_delay,
    is_final_client_error,
    is_retryable_status,
    parse_retry_after,
)

NOW = datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1", 1.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("999999", MAX_RETRY_AFTER_SECONDS),
        ("Sun, 22 Nov 2026 01:00:30 GMT", 30.0),
        ("Sun, 22 Nov 2026 00:59:00 GMT", 0.0),  # in the past
        ("Sun, 22 Nov 2026 03:00:00 GMT", MAX_RETRY_AFTER_SECONDS),
        ("Sun, 22 Nov 2026 01:00:10 -0000", 10.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_parse_retry_after_cap_is_configurable() -> None:
    assert parse_retry_after("100", NOW, cap=10) == 10
    assert (
        parse_retry_after((NOW + timedelta(seconds=50)).strftime("%a, %d %b %Y %H:%M:%S GMT"), NOW, cap=20)
        == 20
    )


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0.01, max_value=10), st.integers())
def test_backoff_is_full_jitter_below_the_exponential_and_the_cap(
    attempt: int, base: float, seed: int
) -> None:
    delay = backoff_delay(attempt, base=base, cap=60.0, rng=random.Random(seed))
    assert 0.0 <= delay <= min(60.0, base * 2 ** min(attempt - 1, 100))


def test_backoff_grows_exponentially_on_average() -> None:
    rng = random.Random(7)
    means = [
        sum(backoff_delay(attempt, base=1.0, cap=1000.0, rng=rng) for _ in range(2000)) / 2000
        for attempt in (1, 2, 3, 4)
    ]
    for mean, ceiling in zip(means, (1, 2, 4, 8), strict=True):
        assert ceiling * 0.45 < mean < ceiling * 0.55


def test_autothrottle_moves_half_way_to_latency_over_concurrency() -> None:
    throttle = AutoThrottle(target_concurrency=2.0, min_delay=0.0, max_delay=60.0)
    # target 1.0 / 2 = 0.5; from 3.0 half way is 1.75
    assert throttle.next_delay(3.0, latency=1.0, status=200) == 1.75
    # rising latency: never below the target itself
    assert throttle.next_delay(0.0, latency=4.0, status=200) == 2.0


def test_autothrottle_respects_min_and_max_delay() -> None:
    throttle = AutoThrottle(target_concurrency=1.0, min_delay=0.5, max_delay=5.0)
    assert throttle.next_delay(0.5, latency=0.01, status=200) == 0.5
    assert throttle.next_delay(4.0, latency=100.0, status=200) == 5.0


def test_autothrottle_errors_never_decrease_the_delay() -> None:
    throttle = AutoThrottle(target_concurrency=1.0, min_delay=0.0, max_delay=60.0)
    assert throttle.next_delay(4.0, latency=0.01, status=503) == 4.0
    assert throttle.next_delay(1.0, latency=10.0, status=503) == 10.0


@given(
    st.floats(min_value=0, max_value=60),
    st.floats(min_value=0, max_value=120),
    st.sampled_from([200, 404, 500, 503]),
)
def test_autothrottle_stays_within_bounds(current: float, latency: float, status: int) -> None:
    throttle = AutoThrottle(target_concurrency=1.5, min_delay=0.2, max_delay=30.0)
    delay = throttle.next_delay(current, latency, status)
    assert 0.2 <= delay <= 30.0 or delay == current
    if status != 200:
        assert delay >= current


@pytest.mark.parametrize(
    ("status", "retryable", "final"),
    [
        (200, False, False),
        (301, False, False),
        (400, False, True),
        (403, False, True),
        (404, False, True),
        (410, False, True),
        (408, True, False),
        (429, True, False),
        (500, True, False),
        (503, True, False),
        (599, True, False),
    ],
)
def test_status_classes(status: int, retryable: bool, final: bool) -> None:
    assert is_retryable_status(status) is retryable
    assert is_final_client_error(status) is final
