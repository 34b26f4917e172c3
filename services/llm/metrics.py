"""The llm service's Prometheus metrics; the deployed alerts and dashboards query these names
and labels."""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import Counter, Histogram

TaskOutcome = Literal["completed", "failed", "retried"]
TokenKind = Literal["prompt", "completion"]

# A model call takes from a fraction of a second (a short completion) to minutes (a long one).
_CALL_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

TASKS: Final = Counter(
    "trawl_llm_tasks_total",
    "LLM tasks by model and how they ended (completed, failed, retried).",
    ["model", "outcome"],
)
TOKENS: Final = Counter(
    "trawl_llm_tokens_total",
    "Tokens sent and received, by model and kind (prompt, completion).",
    ["model", "kind"],
)
CALL_SECONDS: Final = Histogram(
    "trawl_llm_call_seconds", "Time of one model call.", ["model"], buckets=_CALL_BUCKETS
)
TASKS_PLANNED: Final = Counter(
    "trawl_llm_tasks_planned_total",
    "LLM tasks planned, by kind (query, schema_extraction, on_demand).",
    ["kind"],
)
CACHE_HITS: Final = Counter(
    "trawl_llm_cache_hits_total", "Tasks answered from an earlier identical call: no tokens spent."
)
LIMITER_WAIT_SECONDS: Final = Counter(
    "trawl_llm_limiter_wait_seconds_total", "Seconds calls waited for the model's shared rate limits."
)
