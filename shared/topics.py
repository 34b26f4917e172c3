"""Topic names: `trawl.<event>.v<major>` and its dead-letter topic `<topic>.dlq`.

A prefix (TRAWL_TOPIC_PREFIX) lets several deployments or test runs share one broker.
"""

from __future__ import annotations

from shared.events import EVENT_TYPES, Event

DLQ_SUFFIX = ".dlq"


def topic_for(event_type: type[Event], prefix: str = "") -> str:
    return f"{prefix}{event_type.type_name()}"


def dlq_topic(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


def all_topics(prefix: str = "") -> list[str]:
    """Every event topic and its DLQ, as the project creates them."""
    topics = [topic_for(event_type, prefix) for event_type in EVENT_TYPES]
    return topics + [dlq_topic(topic) for topic in topics]
