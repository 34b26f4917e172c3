from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from services.ingest.domain.submissions import Accepted, Rejected, unstorable_text, validate_job_config
from tests.unit.ingest.strategies import job_configs


@given(job_configs)
@settings(max_examples=500, deadline=None)
def test_every_submission_is_accepted_or_rejected_with_reasons(config: dict[str, Any]) -> None:
    verdict = validate_job_config(config, search_provider=None)
    assert isinstance(verdict, Accepted | Rejected)
    if isinstance(verdict, Rejected):
        assert verdict.reasons and all(isinstance(reason, str) and reason for reason in verdict.reasons)
        assert not unstorable_text(verdict.reasons)  # reasons are stored and published as they are


def test_reasons_name_the_field() -> None:
    verdict = validate_job_config(
        {"seeds": ["ftp://x"], "limits": {"max_pages": 0}, "schedule": {"cron": "61 * * * *"}},
        search_provider=None,
    )
    assert isinstance(verdict, Rejected)
    fields = {reason.split(":")[0] for reason in verdict.reasons}
    assert {"seeds.0", "limits.max_pages"} <= fields


def test_schedule_problems() -> None:
    bad_cron = validate_job_config(
        {"seeds": ["https://a.com/"], "schedule": {"cron": "61 * * * * "}}, search_provider=None
    )
    assert isinstance(bad_cron, Rejected) and bad_cron.reasons[0].startswith("schedule.cron:")
    never = validate_job_config(
        {"seeds": ["https://a.com/"], "schedule": {"cron": "0 0 31 2 *"}}, search_provider=None
    )
    assert isinstance(never, Rejected) and "never fires" in never.reasons[0]
    zone = validate_job_config(
        {"seeds": ["https://a.com/"], "schedule": {"cron": "0 6 * * *", "timezone": "Mars/Olympus"}},
        search_provider=None,
    )
    assert isinstance(zone, Rejected) and zone.reasons == [
        "schedule.timezone: unknown time zone 'Mars/Olympus'"
    ]
    good = validate_job_config(
        {"keywords": ["tides"], "schedule": {"cron": "0 6 * * 1-5", "timezone": "Europe/Berlin"}},
        search_provider="searxng",
    )
    assert isinstance(good, Accepted)


def test_text_postgres_cannot_store_is_rejected_with_its_place() -> None:
    verdict = validate_job_config(
        {"seeds": ["https://a.com/"], "name": "a\x00b", "options": {"k": ["\ud800"]}},
        search_provider=None,
    )
    assert isinstance(verdict, Rejected)
    assert verdict.reasons == [
        "name: contains a NUL character or an unpaired surrogate",
        "options.k.0: contains a NUL character or an unpaired surrogate",
    ]


def test_reasons_escape_what_they_quote() -> None:
    verdict = validate_job_config(
        {"seeds": ["https://a.com/"], "options": {"k\x00": 1}}, search_provider=None
    )
    assert isinstance(verdict, Rejected)
    assert verdict.reasons == ["options.k\\u0000: contains a NUL character or an unpaired surrogate"]


def test_keywords_without_a_search_provider_are_refused_with_what_to_set() -> None:
    keywords = {"kind": "keywords", "keywords": ["tide tables"], "brand_name": "Acme"}
    verdict = validate_job_config(keywords, search_provider=None)
    assert isinstance(verdict, Rejected)
    assert len(verdict.reasons) == 1 and verdict.reasons[0].startswith("keywords: no search provider")
    assert "TRAWL_SEARXNG_URL" in verdict.reasons[0] and "TRAWL_BRAVE_API_KEY" in verdict.reasons[0]
    assert isinstance(validate_job_config(keywords, search_provider="brave"), Accepted)
    assert isinstance(validate_job_config({"seeds": ["https://a.com/"]}, search_provider=None), Accepted)
