"""The CloudEvents 1.0 envelope in Kafka binary mode (DESIGN.md §3).

The payload is the message value (JSON); the context attributes are headers:
`ce_specversion`, `ce_id`, `ce_source`, `ce_type`, `ce_time`, `ce_subject`, plus our
extensions `tenant_id`, `traceparent`, `causation_id`, `correlation_id`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from uuid import UUID, uuid4

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
# Set by `trawl dlq replay`: this event was dead-lettered and may run again (see shared.dlq).
REPLAY_HEADER = "trawl_replayed_from"

Headers = Sequence[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """The headers are not a valid CloudEvents binary-mode envelope."""


def new_traceparent() -> str:
    """A W3C trace context header for an event that starts a new trace."""
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


@dataclass(frozen=True)
class Envelope:
    id: UUID
    source: str
    type: str
    time: datetime
    subject: str | None = None
    tenant_id: UUID | None = None
    traceparent: str = field(default_factory=new_traceparent)
    causation_id: UUID | None = None
    correlation_id: UUID | None = None

    @classmethod
    def new(
        cls,
        *,
        source: str,
        type: str,
        subject: str | None,
        tenant_id: UUID | None,
        cause: Envelope | None = None,
    ) -> Envelope:
        """An envelope for a new event; `cause` is the event being handled, if any."""
        event_id = uuid4()
        return cls(
            id=event_id,
            source=source,
            type=type,
            time=datetime.now(UTC),
            subject=subject,
            tenant_id=tenant_id,
            traceparent=cause.traceparent if cause else new_traceparent(),
            causation_id=cause.id if cause else None,
            correlation_id=(cause.correlation_id or cause.id) if cause else event_id,
        )

    def with_type(self, type: str) -> Envelope:
        return replace(self, type=type)

    def to_headers(self) -> list[tuple[str, bytes]]:
        pairs: list[tuple[str, str | None]] = [
            ("ce_specversion", SPEC_VERSION),
            ("ce_id", str(self.id)),
            ("ce_source", self.source),
            ("ce_type", self.type),
            ("ce_time", self.time.isoformat()),
            ("ce_subject", self.subject),
            ("content-type", CONTENT_TYPE),
            ("tenant_id", str(self.tenant_id) if self.tenant_id else None),
            ("traceparent", self.traceparent),
            ("causation_id", str(self.causation_id) if self.causation_id else None),
            ("correlation_id", str(self.correlation_id) if self.correlation_id else None),
        ]
        return [(name, value.encode()) for name, value in pairs if value is not None]

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes]]) -> Envelope:
        values = {name: raw.decode("utf-8", "replace") for name, raw in headers}
        if values.get("ce_specversion") != SPEC_VERSION:
            raise EnvelopeError(
                f"ce_specversion must be {SPEC_VERSION!r}, got {values.get('ce_specversion')!r}"
            )
        missing = [name for name in ("ce_id", "ce_source", "ce_type", "ce_time") if not values.get(name)]
        if missing:
            raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
        try:
            return cls(
                id=UUID(values["ce_id"]),
                source=values["ce_source"],
                type=values["ce_type"],
                time=datetime.fromisoformat(values["ce_time"]),
                subject=values.get("ce_subject"),
                tenant_id=_optional_uuid(values.get("tenant_id")),
                traceparent=values.get("traceparent") or new_traceparent(),
                causation_id=_optional_uuid(values.get("causation_id")),
                correlation_id=_optional_uuid(values.get("correlation_id")),
            )
        except ValueError as exc:
            raise EnvelopeError(f"malformed CloudEvents header: {exc}") from exc


def _optional_uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None
