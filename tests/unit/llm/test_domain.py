"""The llm service's rules: retries, shared limits, parts of a long page, what makes a call the same."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.llm.domain import limits
from services.llm.domain.failures import LlmError, failure_status, next_try_in
from services.llm.domain.prompts import cache_key, content_hash, merge_parts, split_text
from services.llm.domain.tasks import Query, cost_of, query_task

LIMITS = limits.ModelLimits(
    requests_per_minute=60, tokens_per_minute=6_000, breaker_threshold=3, breaker_cooldown=30
)


def test_endpoint_trouble_is_retried_with_backoff_and_a_bad_request_is_not() -> None:
    server = LlmError("server", "500")
    assert next_try_in(server, attempts=1, max_attempts=4, base_seconds=2) == 2
    assert next_try_in(server, attempts=3, max_attempts=4, base_seconds=2) == 8
    assert next_try_in(server, attempts=4, max_attempts=4, base_seconds=2) is None  # out of attempts
    limited = LlmError("rate_limit", "429", retry_after=20)
    assert next_try_in(limited, attempts=1, max_attempts=4, base_seconds=2) == 20  # Retry-After wins
    for fatal in ("context_length", "refusal", "budget", "client"):
        assert next_try_in(LlmError(fatal, "x"), attempts=1, max_attempts=4, base_seconds=2) is None  # type: ignore[arg-type]
    assert failure_status("timeout") == "timeout"
    assert failure_status("rate_limit") == "error"
    assert failure_status("validation") == "failed"


def test_the_buckets_never_let_a_minute_go_over_the_limit_and_a_steady_load_gets_most_of_it() -> None:
    state = limits.fresh(LIMITS, now=0.0)
    sent: list[float] = []
    now = 0.0
    while now < 300:  # five minutes of calls as fast as the limiter lets them go
        admission = limits.admit(state, LIMITS, estimated_tokens=10, now=now)
        if admission.wait:
            now += admission.wait
            state = admission.state
            continue
        state = admission.state
        sent.append(now)
    for start in range(0, 240, 7):  # any sliding minute
        assert sum(1 for at in sent if start <= at < start + 60) <= 60
    steady = sum(1 for at in sent if 60 <= at < 300) / 4
    assert steady >= 0.9 * 60


def test_tokens_are_reserved_before_a_call_and_settled_after_it() -> None:
    # 6,000 tokens a minute: a burst of 300 at most, 95 tokens a second back.
    state = limits.fresh(LIMITS, 0.0)
    assert state.tokens == 300
    reserved = limits.admit(state, LIMITS, estimated_tokens=250, now=0.0).state
    assert reserved.tokens == 50
    assert limits.admit(reserved, LIMITS, estimated_tokens=250, now=0.0).wait == pytest.approx(200 / 95)
    settled = limits.settle(reserved, LIMITS, estimated_tokens=250, used_tokens=100)
    assert settled.tokens == 200  # the 150 reserved but not used come back
    # A call larger than the whole bucket waits for a full bucket, not forever, and its real
    # usage is owed afterwards.
    huge = limits.admit(limits.fresh(LIMITS, 0.0), LIMITS, estimated_tokens=5_000, now=0.0)
    assert huge.wait == 0 and huge.state.tokens == 0
    owed = limits.settle(huge.state, LIMITS, estimated_tokens=5_000, used_tokens=2_000)
    assert owed.tokens == -1_700
    assert limits.admit(owed, LIMITS, estimated_tokens=10, now=0.0).wait == pytest.approx(1_710 / 95)


def test_a_429_pauses_every_caller_and_repeated_failures_open_the_breaker() -> None:
    state = limits.fresh(LIMITS, 0.0)
    paused = limits.after_failure(state, LIMITS, now=0.0, retry_after=12, endpoint_unwell=False)
    assert limits.admit(paused, LIMITS, estimated_tokens=1, now=5.0).wait == 7.0
    for _ in range(2):
        state = limits.after_failure(state, LIMITS, now=0.0, retry_after=None, endpoint_unwell=True)
    assert limits.admit(state, LIMITS, estimated_tokens=1, now=0.0).wait == 0
    opened = limits.after_failure(state, LIMITS, now=0.0, retry_after=None, endpoint_unwell=True)
    assert limits.admit(opened, LIMITS, estimated_tokens=1, now=10.0).wait == 20.0
    refused = limits.after_failure(state, LIMITS, now=0.0, retry_after=None, endpoint_unwell=False)
    assert refused == state  # a bad request says nothing about the endpoint
    assert limits.after_success(state).failures == 0


def test_without_limits_configured_every_call_goes_at_once() -> None:
    open_limits = limits.ModelLimits(None, None, 5, 30)
    state = limits.fresh(open_limits, 0.0)
    for _ in range(1_000):
        admission = limits.admit(state, open_limits, estimated_tokens=100_000, now=0.0)
        assert admission.wait == 0
        state = admission.state


def test_a_long_text_is_split_between_paragraphs_and_nothing_is_lost() -> None:
    paragraphs = [f"Paragraph {index}. " + "word " * 60 for index in range(40)]
    text = "\n\n".join(paragraphs)
    parts = split_text(text, 200)
    assert len(parts) > 1
    assert "".join(parts) == text  # never truncated
    assert all(len(part) <= 800 for part in parts)
    assert all(part.rstrip().endswith("word") for part in parts)  # cut between paragraphs
    assert split_text("short", 200) == ["short"]
    one_long_line = "x" * 2_000
    assert "".join(split_text(one_long_line, 100)) == one_long_line


def test_parts_merge_deterministically_known_fields_first_lists_without_repeats() -> None:
    merged, provenance = merge_parts(
        [
            {"name": None, "price": 12.5, "tags": ["a", "b"], "colour": ""},
            {"name": "Lamp", "price": 99.0, "tags": ["b", "c"], "colour": "red"},
        ],
        {"sku": "L-1", "price": None},
    )
    assert merged == {"sku": "L-1", "price": 12.5, "tags": ["a", "b", "c"], "name": "Lamp", "colour": "red"}
    assert provenance == {"sku": 0, "price": 1, "tags": 1, "name": 2, "colour": 2}


def test_the_same_product_asked_the_same_question_is_the_same_call() -> None:
    query = Query(uuid4(), "summary", "Summarise this product.", {"type": "object"})
    common = {
        "tenant_id": uuid4(),
        "session_id": uuid4(),
        "job_id": uuid4(),
        "query": query,
        "product_hash": "p1",
        "model": "m",
        "max_tokens": 100,
    }
    first = query_task(
        uuid4(), run_id=uuid4(), product={"name": "Lamp", "price": "10", "confidence": 0.9}, **common
    )
    # Another run, fields in another order, another confidence: the same call.
    again = query_task(
        uuid4(), run_id=uuid4(), product={"price": "10", "confidence": 0.5, "name": "Lamp"}, **common
    )
    assert first.cache_key == again.cache_key
    assert first.dedupe_key != again.dedupe_key  # but a task of its own run
    changed = query_task(uuid4(), run_id=uuid4(), product={"name": "Lamp", "price": "11"}, **common)
    assert changed.cache_key != first.cache_key
    other_prompt = cache_key(
        input_hash=content_hash({"name": "Lamp", "price": "10"}),
        prompt="Other",
        schema=None,
        model="m",
        max_tokens=100,
    )
    assert other_prompt != first.cache_key
    assert first.product_name == "Lamp"


def test_cost_is_priced_per_million_tokens() -> None:
    assert cost_of(1_000_000, 500_000, prompt_price=0.15, completion_price=0.6) == 0.45
