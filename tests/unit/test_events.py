from __future__ import annotations

from uuid import uuid4

import pytest

from services.ingest.domain.submissions import Accepted, Rejected, validate_job_config
from shared.events import EVENT_TYPES, JobConfig, PageFetched
from shared.topics import all_topics, dlq_topic, topic_for


def test_topic_names_follow_the_convention() -> None:
    assert topic_for(PageFetched) == "trawl.page-fetched.v1"
    assert topic_for(PageFetched, "t1.") == "t1.trawl.page-fetched.v1"
    assert dlq_topic("trawl.page-fetched.v1") == "trawl.page-fetched.v1.dlq"
    assert len(all_topics()) == 2 * len(EVENT_TYPES)
    assert len({event.type_name() for event in EVENT_TYPES}) == len(EVENT_TYPES)


def test_a_job_config_carries_what_the_seeds_describe() -> None:
    schema_id = str(uuid4())
    config = JobConfig.model_validate(
        {
            "kind": "scrape",
            "seeds": ["https://shop.example/products"],
            "keywords": ["running shoes"],
            "brand_name": "Acme",
            "scope": {"include_patterns": ["/products/"], "exclude_patterns": [r"\?sort="]},
            "limits": {"max_pages": 500, "max_depth": 2, "max_images": 50},
            "pagination": {
                "type": "url_pattern",
                "url_template": "https://shop.example/p?page={page}",
                "max_page": 9,
            },
            "extractor_schema": {"schema_id": schema_id, "definition": {"type": "object"}},
            "schedule": {"cron": "0 6 * * *", "timezone": "Europe/Berlin"},
            "options": {"render_js": False},
        }
    )
    assert config.model_dump(mode="json", exclude_defaults=True) == {
        "kind": "scrape",
        "seeds": ["https://shop.example/products"],
        "keywords": ["running shoes"],
        "brand_name": "Acme",
        "scope": {"include_patterns": ["/products/"], "exclude_patterns": [r"\?sort="]},
        "limits": {"max_pages": 500, "max_depth": 2, "max_images": 50},
        "pagination": {
            "type": "url_pattern",
            "url_template": "https://shop.example/p?page={page}",
            "max_page": 9,
        },
        "extractor_schema": {"schema_id": schema_id, "definition": {"type": "object"}},
        "schedule": {"cron": "0 6 * * *", "timezone": "Europe/Berlin"},
        "options": {"render_js": False},
    }
    # What was left out takes the documented defaults.
    assert config.scope.same_registered_domain and config.scope.respect_robots
    assert config.limits.per_host_concurrency == 2 and config.limits.max_retries == 3
    assert config.pagination.start_page == 1
    assert config.extractor_schema is not None and not config.extractor_schema.strict_validation


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({}, "at least one seed URL or one keyword"),
        ({"seeds": ["not a url"]}, "seeds.0: "),
        ({"seeds": ["https://a.example"], "limits": {"max_pages": 0}}, "limits.max_pages: "),
        ({"seeds": ["https://a.example"], "pagination": {"type": "next_button"}}, "needs next_selector"),
        ({"seeds": ["https://a.example"], "scope": {"include_patterns": ["(["]}}, "invalid regex"),
        ({"seeds": ["https://a.example"], "schedule": {"cron": "99 * * * * *"}}, "not a valid cron"),
        (
            {"seeds": ["https://a.example"], "schedule": {"cron": "0 6 * * *", "timezone": "Mars/Base"}},
            "unknown time zone",
        ),
    ],
)
def test_invalid_submissions_are_rejected_with_precise_reasons(raw: dict[str, object], reason: str) -> None:
    verdict = validate_job_config(raw, search_provider="searxng")
    assert isinstance(verdict, Rejected)
    assert any(reason in text for text in verdict.reasons), verdict.reasons


def test_a_valid_submission_is_accepted() -> None:
    verdict = validate_job_config(
        {"seeds": ["https://a.example"], "schedule": {"cron": "*/5 * * * *"}}, search_provider=None
    )
    assert isinstance(verdict, Accepted)
    assert str(verdict.config.seeds[0]) == "https://a.example/"
