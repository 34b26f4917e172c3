"""Kafka header values survive the outbox's JSON column exactly, whatever their bytes."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from shared.dlq import DeadLetter
from shared.envelope import REPLAY_HEADER
from shared.outbox import decode_header, encode_header


@given(st.binary(max_size=64))
def test_any_header_bytes_round_trip_through_json(value: bytes) -> None:
    stored = json.loads(json.dumps(encode_header(value)))
    assert "\\u0000" not in json.dumps(stored)  # jsonb refuses NUL
    assert decode_header(stored) == value


def test_text_headers_stay_readable() -> None:
    assert encode_header(b"trawl.page-fetched.v1") == "trawl.page-fetched.v1"
    assert encode_header(b"\xff\xfe") == {"b64": "//4="}


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
