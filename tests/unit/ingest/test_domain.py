from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.ingest.domain.access import Role, Scope, allowed
from services.ingest.domain.keys import key_digest, key_prefix, looks_like_key, new_key
from services.ingest.domain.progress import RunState, final_status
from services.ingest.domain.quota import check_quota
from services.ingest.domain.ratelimit import take
from services.ingest.domain.schedules import due, latest_fire, next_fire
from services.ingest.http.uploads import upload_type

T0 = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)


def test_keys_are_unique_prefixed_and_stored_as_their_hash() -> None:
    first, second = new_key(), new_key()
    assert first.plaintext != second.plaintext and first.digest != second.digest
    assert looks_like_key(first.plaintext) and first.plaintext.startswith(first.prefix)
    assert key_prefix(first.plaintext) == first.prefix == first.plaintext[:18]
    # The stored digest is the key's SHA-256 (a known vector: sha256(b"abc")).
    assert key_digest("abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert first.digest == key_digest(first.plaintext) and len(first.digest) == 32
    assert first.plaintext.encode() not in first.digest
    assert not looks_like_key("Bearer something") and not looks_like_key("trawl_short")


@pytest.mark.parametrize(
    ("role", "scopes", "needed", "expected"),
    [
        (Role.ADMIN, (), Scope.ADMIN, True),
        (Role.ADMIN, ("read",), Scope.WRITE, False),
        (Role.MEMBER, (), Scope.WRITE, True),
        (Role.MEMBER, (), Scope.ADMIN, False),
        (Role.MEMBER, ("admin",), Scope.ADMIN, False),  # scopes narrow a role, never widen it
        (Role.VIEWER, (), Scope.READ, True),
        (Role.VIEWER, (), Scope.WRITE, False),
    ],
)
def test_roles_narrowed_by_scopes(role: Role, scopes: tuple[str, ...], needed: Scope, expected: bool) -> None:
    assert allowed(role, scopes, needed) is expected


def test_token_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    decision = take(None, T0, rate=2.0, capacity=3.0)
    bucket = decision.bucket
    outcomes = [decision.allowed]
    for _ in range(3):
        decision = take(bucket, T0, rate=2.0, capacity=3.0)
        bucket = decision.bucket
        outcomes.append(decision.allowed)
    assert outcomes == [True, True, True, False]
    assert decision.retry_after == pytest.approx(0.5)
    later = take(bucket, T0 + timedelta(seconds=0.5), rate=2.0, capacity=3.0)
    assert later.allowed
    idle = take(later.bucket, T0 + timedelta(hours=1), rate=2.0, capacity=3.0)
    assert idle.bucket.tokens == pytest.approx(2.0)  # capped at capacity, minus the one taken


def test_schedules_in_a_time_zone_and_missed_fires_run_once() -> None:
    # Berlin switches to summer time on 2026-03-29 at 02:00 local.
    assert next_fire("0 6 * * *", "Europe/Berlin", T0) == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)
    assert next_fire("*/15 * * * *", "UTC", T0) == T0 + timedelta(minutes=15)
    assert latest_fire("*/15 * * * *", "UTC", T0 + timedelta(minutes=20)) == T0 + timedelta(minutes=15)
    assert latest_fire("*/15 * * * *", "UTC", T0) == T0
    assert due("*/15 * * * *", "UTC", T0 + timedelta(minutes=15), T0) is None
    after_downtime = due("*/15 * * * *", "UTC", T0, T0 + timedelta(hours=5, minutes=7))
    assert after_downtime is not None
    assert after_downtime.fire_at == T0 + timedelta(hours=5)  # the latest missed fire, once
    assert after_downtime.next_fire_at == T0 + timedelta(hours=5, minutes=15)


def _state(**changes: object) -> RunState:
    base: dict[str, object] = {
        "kind": "crawl",
        "status": "running",
        "crawler_status": None,
        "pages_published": None,
        "documents_expected": None,
        "extractor_outcomes": 0,
    }
    return RunState(**(base | changes))  # type: ignore[arg-type]


def test_a_run_completes_when_the_crawler_and_every_extractor_outcome_are_in() -> None:
    assert final_status(_state(extractor_outcomes=5)) is None  # crawler still going
    assert final_status(_state(crawler_status="completed", pages_published=5, extractor_outcomes=4)) is None
    assert (
        final_status(_state(crawler_status="completed", pages_published=5, extractor_outcomes=5))
        == "completed"
    )
    assert final_status(_state(crawler_status="failed", pages_published=0)) == "failed"
    assert final_status(_state(status="cancelled", crawler_status="completed", pages_published=0)) is None
    assert final_status(_state(kind="upload", documents_expected=2, extractor_outcomes=1)) is None
    assert final_status(_state(kind="upload", documents_expected=2, extractor_outcomes=2)) == "completed"


def test_quota() -> None:
    assert check_quota(pages_used=10, quota_pages=100, active_runs=1, max_active_runs=2) is None
    over = check_quota(pages_used=100, quota_pages=100, active_runs=0, max_active_runs=2)
    assert over is not None and over.status == 402
    busy = check_quota(pages_used=0, quota_pages=100, active_runs=2, max_active_runs=2)
    assert busy is not None and busy.status == 429


def test_upload_types() -> None:
    assert upload_type("a.md", "application/octet-stream") == "text/markdown"
    assert upload_type("a.pdf", None) == "application/pdf"
    assert upload_type("a.html", "text/html; charset=utf-8") == "text/html"
    assert upload_type("a.txt", "") == "text/plain"
    assert upload_type("a.exe", "application/x-msdownload") is None
