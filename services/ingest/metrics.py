"""Ingest's own Prometheus metrics (the shared trawl_ families cover events and the outbox)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "trawl_api_requests_total", "API requests by route and status", ["method", "route", "status"]
)
LATENCY = Histogram(
    "trawl_api_request_seconds",
    "API request latency by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
AUTH_FAILURES = Counter("trawl_api_auth_failures_total", "requests refused for their key", ["reason"])
RATE_LIMITED = Counter("trawl_api_rate_limited_total", "requests refused by the per-key rate limit")
RUNS = Counter("trawl_runs_total", "runs started or ended, by status", ["status"])
INTAKE = Counter("trawl_intake_submissions_total", "JobSubmitted taken by outcome", ["outcome"])
