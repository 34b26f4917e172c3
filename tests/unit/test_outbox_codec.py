"""Kafka headers survive the outbox's column exactly, whatever their bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.dlq import DeadLetter
from shared.envelope import REPLAY_HEADER
from shared.outbox import pack_headers, unpack_headers


@given(st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=64)), max_size=12))
def test_any_headers_round_trip_through_the_outbox_column(headers: list[tuple[str, bytes]]) -> None:
    assert unpack_headers(pack_headers(headers)) == headers


def test_replay_keeps_the_event_headers_and_marks_the_replay() -> None:
    letter = DeadLetter(
        topic="trawl.page-fetched.v1.dlq",
        partition=2,
        offset=7,
        key=b"k",
        value=b"{}",
        headers=[
            ("ce_id", b"abc"),
            ("dlq_reason", b"handler"),
            ("dlq_source_topic", b"trawl.page-fetched.v1"),
        ],
    )
    assert letter.source_topic == "trawl.page-fetched.v1"
    assert letter.reason == "handler"
    assert letter.replay_headers() == [("ce_id", b"abc"), (REPLAY_HEADER, b"trawl.page-fetched.v1.dlq/2@7")]
