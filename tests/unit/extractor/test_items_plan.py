"""Which pages of a job yield a record, and how a page's items are counted."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from services.extractor.domain.items import FoundItems, ItemsPlan
from services.extractor.domain.records import RecordResult
from shared.events import JobConfig

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}}


def _config(**changes: Any) -> JobConfig:
    return JobConfig.model_validate({"seeds": ["https://shop.example/"], **changes})


def _record(valid: bool) -> RecordResult:
    errors = [] if valid else [{"path": "/name", "message": "'name' is a required property"}]
    return RecordResult(data={}, valid=valid, errors=errors, confidence=0.5, field_confidence={})


def test_a_job_without_a_schema_wants_no_record() -> None:
    plan = ItemsPlan.of(_config())
    assert plan.record is None
    assert not plan.wants_record("https://shop.example/product/1")
    assert not ItemsPlan.of(None).wants_record("https://shop.example/")


def test_a_schema_job_wants_a_record_of_every_page_unless_patterns_narrow_it() -> None:
    schema = {"schema_id": str(uuid4()), "definition": SCHEMA, "strict_validation": True}
    every = ItemsPlan.of(_config(extractor_schema=schema, brand_name="Acme"))
    assert every.record is not None and every.record.strict_validation
    assert every.brand_name == "Acme"
    assert every.wants_record("https://shop.example/about")
    narrowed = ItemsPlan.of(
        _config(extractor_schema=schema, options={"schema_url_patterns": [r"/product/\d+$"]})
    )
    assert narrowed.wants_record("https://shop.example/product/12")
    assert not narrowed.wants_record("https://shop.example/product/12/reviews")
    assert not narrowed.wants_record("https://shop.example/shop?page=2")
    assert not narrowed.wants_record(None)  # an upload has no URL to match


@pytest.mark.parametrize(
    "patterns", [["(unclosed"], "not a list", [1, 2]], ids=["bad regex", "string", "numbers"]
)
def test_schema_url_patterns_that_cannot_be_used_are_refused(patterns: Any) -> None:
    with pytest.raises(ValueError, match="schema_url_patterns"):
        _config(options={"schema_url_patterns": patterns})


def test_a_strictly_invalid_record_is_found_but_not_extracted() -> None:
    schema = {"schema_id": str(uuid4()), "definition": SCHEMA}
    lenient = ItemsPlan.of(_config(extractor_schema=schema))
    strict = ItemsPlan.of(_config(extractor_schema=schema | {"strict_validation": True}))
    invalid = FoundItems(record=_record(valid=False))
    assert invalid.counts(lenient) == (1, 1)
    assert invalid.counts(strict) == (1, 0)
    assert FoundItems(record=_record(valid=True)).counts(strict) == (1, 1)
    assert FoundItems().counts(strict) == (0, 0)
