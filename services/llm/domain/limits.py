"""What keeps a model's endpoint usable, shared by every llm process (the state lives in
Postgres): a requests-per-minute and a tokens-per-minute bucket, and a breaker.

A call takes one request and its estimated tokens (prompt plus the most it may answer) before
it goes; when the answer reports its usage, the difference is given back (or taken). Endpoints
count a sliding minute, so a bucket refills at 95% of the limit and holds at most 5% of it as
burst: no 60 seconds can then go over the limit, and a steady load gets 95% of it. A `429`
pauses every caller of the model for its `Retry-After`; `threshold` failures in a row (`5xx`,
timeouts) pause it for `cooldown`. Times are Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

BURST_SHARE = 0.05
_ROUNDING = 1e-6  # a bucket refilled to exactly what a call needs may fall short by a float's error


@dataclass(frozen=True)
class ModelState:
    requests: float  # tokens left in the request bucket
    tokens: float  # tokens left in the token bucket
    refilled_at: float
    failures: int = 0  # in a row
    paused_until: float | None = None


@dataclass(frozen=True)
class ModelLimits:
    requests_per_minute: float | None
    tokens_per_minute: float | None
    breaker_threshold: int
    breaker_cooldown: float


@dataclass(frozen=True)
class Admission:
    state: ModelState
    wait: float  # seconds before trying again; 0 when the call may go now


def fresh(limits: ModelLimits, now: float) -> ModelState:
    return ModelState(_capacity(limits.requests_per_minute), _capacity(limits.tokens_per_minute), now)


def admit(state: ModelState, limits: ModelLimits, *, estimated_tokens: int, now: float) -> Admission:
    """Whether a call of about `estimated_tokens` may go now, and the state once it is counted."""
    if state.paused_until is not None and state.paused_until > now:
        return Admission(state, state.paused_until - now)
    refilled = _refill(state, limits, now)
    rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
    # A call larger than the whole token bucket would wait forever: it waits for a full bucket.
    wanted = min(float(estimated_tokens), _capacity(tpm)) if tpm else 0.0
    waits = [0.0]
    if rpm and refilled.requests < 1.0 - _ROUNDING:
        waits.append((1.0 - refilled.requests) * 60.0 / _rate(rpm))
    if tpm and refilled.tokens < wanted - _ROUNDING:
        waits.append((wanted - refilled.tokens) * 60.0 / _rate(tpm))
    if max(waits) > 0:
        return Admission(refilled, max(waits))
    return Admission(
        replace(
            refilled, requests=refilled.requests - (1.0 if rpm else 0.0), tokens=refilled.tokens - wanted
        ),
        0.0,
    )


def settle(state: ModelState, limits: ModelLimits, *, estimated_tokens: int, used_tokens: int) -> ModelState:
    """The token bucket once a call's real usage is known."""
    if not limits.tokens_per_minute:
        return state
    capacity = _capacity(limits.tokens_per_minute)
    taken = min(float(estimated_tokens), capacity)
    return replace(state, tokens=min(capacity, state.tokens + taken - used_tokens))


def after_success(state: ModelState) -> ModelState:
    return replace(state, failures=0)


def after_failure(
    state: ModelState, limits: ModelLimits, *, now: float, retry_after: float | None, endpoint_unwell: bool
) -> ModelState:
    """A rate-limited answer pauses callers for its Retry-After; repeated endpoint failures
    open the breaker. A failure of the request itself (a bad schema, a refusal) counts for neither."""
    if retry_after is not None:
        return replace(state, paused_until=max(state.paused_until or 0.0, now + retry_after))
    if not endpoint_unwell:
        return state
    failures = state.failures + 1
    if failures >= limits.breaker_threshold:
        return replace(state, failures=0, paused_until=now + limits.breaker_cooldown)
    return replace(state, failures=failures)


def _refill(state: ModelState, limits: ModelLimits, now: float) -> ModelState:
    minutes = max(now - state.refilled_at, 0.0) / 60.0
    rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
    requests = min(_capacity(rpm), state.requests + minutes * _rate(rpm))
    tokens = min(_capacity(tpm), state.tokens + minutes * _rate(tpm))
    return replace(state, requests=requests, tokens=tokens, refilled_at=now)


def _capacity(limit: float | None) -> float:
    """The most a bucket holds: 5% of the limit (at least one request or token)."""
    return max(limit * BURST_SHARE, 1.0) if limit else 0.0


def _rate(limit: float | None) -> float:
    """What a bucket gains a minute: the rest of the limit."""
    return limit * (1 - BURST_SHARE) if limit else 0.0
