from __future__ import annotations

from uuid import uuid4

import pytest

from shared.envelope import Envelope, EnvelopeError


def test_headers_round_trip_and_causation_chain() -> None:
    tenant = uuid4()
    first = Envelope.new(source="ingest", type="trawl.job-submitted.v1", subject=None, tenant_id=tenant)
    second = Envelope.new(
        source="crawler", type="trawl.job-created.v1", subject="run-1", tenant_id=tenant, cause=first
    )
    assert Envelope.from_headers(second.to_headers()) == second
    assert second.causation_id == first.id
    assert second.correlation_id == first.correlation_id == first.id
    assert second.traceparent == first.traceparent
    names = [name for name, _ in second.to_headers()]
    assert names[:6] == ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([], "ce_specversion"),
        ([("ce_specversion", b"1.0")], "missing CloudEvents headers: ce_id, ce_source, ce_type, ce_time"),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"not-a-uuid"),
                ("ce_source", b"x"),
                ("ce_type", b"t"),
                ("ce_time", b"2026-01-01T00:00:00+00:00"),
            ],
            "malformed",
        ),
    ],
)
def test_invalid_headers_say_why(headers: list[tuple[str, bytes]], message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        Envelope.from_headers(headers)
