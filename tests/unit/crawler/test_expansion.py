"""Keyword expansion: what a run starts with, what of the model's answer is taken, and what is
searched for it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.crawler.domain.expansion import accepted_expansions, expansion_input, expansion_plan
from services.crawler.domain.search_results import (
    PlannedSearch,
    SearchAnswer,
    SearchHit,
    planned_searches,
    seeded_urls,
)
from shared.events import JobConfig


def _job(**fields: Any) -> JobConfig:
    return JobConfig.model_validate(
        {"kind": "keywords", "keywords": ["tide tables", "lantern repair"], **fields}
    )


def test_without_the_jobs_own_expansions_the_llm_is_asked_with_the_keywords_and_the_cap() -> None:
    plan = expansion_plan(_job(brand_name="Acme", expansions_per_keyword=2))
    assert plan is not None and plan.ask_llm and plan.state.state == "requested" and plan.given == {}
    assert expansion_input(_job(brand_name="Acme", expansions_per_keyword=2)) == {
        "keywords": ["tide tables", "lantern repair"],
        "brand": "Acme",
        "per_keyword": 2,
    }


def test_the_jobs_own_expansions_replace_the_llms_and_none_at_all_is_a_choice() -> None:
    given = expansion_plan(
        _job(expanded_keywords={"tide tables": ["tide times", " Tide  Tables ", "tide times"]})
    )
    assert given is not None and not given.ask_llm
    assert given.state.state == "job" and given.given == {"tide tables": ["tide times"]}
    empty = expansion_plan(_job(expanded_keywords={}))
    assert empty is not None and not empty.ask_llm and empty.given == {} and empty.state.state == "job"
    off = expansion_plan(_job(expansions_per_keyword=0))
    assert off is not None and off.state.state == "off" and not off.ask_llm
    assert expansion_plan(JobConfig.model_validate({"seeds": ["https://example.com/"]})) is None


def test_expansions_must_be_of_the_jobs_keywords() -> None:
    with pytest.raises(ValidationError, match="not one of the job's keywords"):
        _job(expanded_keywords={"sea shanties": ["songs"]})
    with pytest.raises(ValidationError, match="at most 10 phrases"):
        _job(expanded_keywords={"tide tables": [f"p{n}" for n in range(11)]})


def test_of_the_models_answer_only_new_phrases_of_the_jobs_keywords_are_taken_up_to_the_cap() -> None:
    output = {
        "expansions": [
            {
                "keyword": "Tide Tables",
                "phrases": ["tide times", "tide tables", "high tide chart", "tide times"],
            },
            {"keyword": "tide tables", "phrases": ["lantern repair", "tide chart", "x" * 400]},
            {"keyword": "unknown", "phrases": ["ignored"]},
            {"keyword": "lantern repair", "phrases": [3, None]},
            "not an object",
        ]
    }
    assert accepted_expansions(output, _job(expansions_per_keyword=3)) == {
        "tide tables": ["tide times", "high tide chart", "tide chart"]
    }
    assert accepted_expansions({"expansions": "nope"}, _job()) == {}
    assert accepted_expansions({}, _job()) == {}


def test_an_expansions_searches_go_under_its_keyword_and_what_they_seed_says_so() -> None:
    config = _job(brand_name="Acme")
    planned = planned_searches(config, {"tide tables": ["tide times"]})
    assert [(s.keyword, s.expansion, s.request.query) for s in planned] == [
        ("tide tables", "tide times", "Acme tide times")
    ]
    plain = planned_searches(config)
    assert [(s.keyword, s.expansion) for s in plain] == [("tide tables", None), ("lantern repair", None)]
    hit = SearchHit(url="https://tides.example/", title="Tides", snippet="", rank=1, engine="fake")
    (url,) = seeded_urls(planned[0], "searxng", SearchAnswer([hit]))
    assert url.provenance is not None
    assert url.provenance["keyword"] == "tide tables" and url.provenance["expansion"] == "tide times"
    (plain_url,) = seeded_urls(
        PlannedSearch("tide tables", planned[0].request), "searxng", SearchAnswer([hit])
    )
    assert plain_url.provenance is not None and "expansion" not in plain_url.provenance
