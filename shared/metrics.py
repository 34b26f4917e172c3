"""Prometheus metrics shared by every Trawl service (default registry, served on /metrics).

Every metric carries a `service` label, so one dashboard query covers all five services.
"""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import Counter, Gauge, Histogram

Outcome = Literal["ok", "duplicate", "retried", "dead_lettered"]
OUTCOMES: Final[tuple[Outcome, ...]] = ("ok", "duplicate", "retried", "dead_lettered")

# Handlers range from a dedupe lookup (milliseconds) to a page fetch plus extraction (seconds).
HANDLER_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

EVENTS_CONSUMED: Final = Counter(
    "trawl_events_consumed_total",
    "Events taken from Kafka, by how handling ended (ok, duplicate, retried, dead_lettered).",
    ["service", "event_type", "outcome"],
)

EVENTS_PRODUCED: Final = Counter(
    "trawl_events_produced_total",
    "Events published to Kafka (by the outbox relay).",
    ["service", "topic"],
)

HANDLER_SECONDS: Final = Histogram(
    "trawl_handler_seconds",
    "Time spent in an event handler, one attempt.",
    ["service", "event_type"],
    buckets=HANDLER_BUCKETS,
)

OUTBOX_PENDING: Final = Gauge(
    "trawl_outbox_pending",
    "Outbox rows not yet published.",
    ["service"],
)

OUTBOX_OLDEST_AGE: Final = Gauge(
    "trawl_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox row (0 when none).",
    ["service"],
)

DLQ_TOTAL: Final = Counter(
    "trawl_dlq_total",
    "Events sent to a dead-letter topic, by source topic and reason.",
    ["service", "topic", "reason"],
)

CONSUMER_LAG: Final = Gauge(
    "trawl_consumer_lag",
    "Messages between the group's committed offset and the partition's end.",
    ["service", "topic", "partition"],
)
