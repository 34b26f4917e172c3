"""What keeps a model's endpoint usable, shared by every llm process (the state lives in
Postgres): a requests-per-minute and a tokens-per-minute bucket, and a breaker.

A call takes one request and its estimated tokens (prompt plus the most it may answer) before
it goes; when the answer reports its usage, the difference is given back (or taken). A `429`
pauses every caller of the model for its `Retry-After`; `threshold` failures in a row (`5xx`,
timeouts) pause it for `cooldown`. Times are Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


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
    return ModelState(limits.requests_per_minute or 0.0, limits.tokens_per_minute or 0.0, now)


def admit(state: ModelState, limits: ModelLimits, *, estimated_tokens: int, now: float) -> Admission:
    """Whether a call of about `estimated_tokens` may go now, and the state once it is counted."""
    if state.paused_until is not None and state.paused_until > now:
        return Admission(state, state.paused_until - now)
    refilled = _refill(state, limits, now)
    rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
    # A call larger than the whole token bucket would wait forever: it waits for a full bucket.
    wanted = min(float(estimated_tokens), tpm) if tpm else 0.0
    waits = [0.0]
    if rpm and refilled.requests < 1.0:
        waits.append((1.0 - refilled.requests) * 60.0 / rpm)
    if tpm and refilled.tokens < wanted:
        waits.append((wanted - refilled.tokens) * 60.0 / tpm)
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
    taken = min(float(estimated_tokens), limits.tokens_per_minute)
    return replace(state, tokens=min(limits.tokens_per_minute, state.tokens + taken - used_tokens))


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
    elapsed = max(now - state.refilled_at, 0.0) / 60.0
    requests = min(
        limits.requests_per_minute or 0.0, state.requests + elapsed * (limits.requests_per_minute or 0.0)
    )
    tokens = min(limits.tokens_per_minute or 0.0, state.tokens + elapsed * (limits.tokens_per_minute or 0.0))
    return replace(state, requests=requests, tokens=tokens, refilled_at=now)
