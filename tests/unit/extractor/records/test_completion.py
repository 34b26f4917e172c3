"""A record an LLM completes: when one is asked for, what it is sent, and the record after."""

from __future__ import annotations

from services.extractor.domain.records import RecordResult, extract_record
from services.extractor.domain.records.completion import (
    LLM_CONFIDENCE,
    completed_record,
    missing_required,
    schema_for_llm,
    wants_llm,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "x-trawl-selector": "h1"},
        "warranty_years": {"type": "integer"},
        "colour": {"type": "string"},
    },
    "required": ["name", "warranty_years"],
}
PAGE = "<html><body><h1>Garden bench</h1><p>Two years of warranty.</p></body></html>"


def _known() -> RecordResult:
    return extract_record(PAGE, "https://shop.example/bench", SCHEMA)


def test_an_llm_is_asked_only_as_the_job_says() -> None:
    known = _known()
    assert missing_required(SCHEMA, known) == ["warranty_years"]
    assert wants_llm("missing", SCHEMA, known)
    assert wants_llm("always", SCHEMA, known)
    assert not wants_llm("off", SCHEMA, known)
    complete = RecordResult({"name": "Bench", "warranty_years": 2}, True, [], 0.9, {})
    assert not wants_llm("missing", SCHEMA, complete)
    assert wants_llm("always", SCHEMA, complete)


def test_the_model_is_sent_the_schema_without_trawls_annotations() -> None:
    sent = schema_for_llm(SCHEMA)
    assert sent["properties"]["name"] == {"type": "string"}
    assert sent["required"] == ["name", "warranty_years"]


def test_the_answer_fills_what_rules_left_empty_and_never_overrides_them() -> None:
    known = _known()
    assert not known.valid
    answer = {"name": "A different name", "warranty_years": 2, "colour": "", "maker": "Oakworks"}
    record = completed_record(SCHEMA, known, answer, allow_extra_fields=True)
    assert record.valid and record.errors == []
    assert record.data == {"name": "Garden bench", "warranty_years": 2, "maker": "Oakworks"}
    assert record.field_confidence["warranty_years"] == LLM_CONFIDENCE
    assert record.field_confidence["name"] == known.field_confidence["name"]
    assert record.confidence > known.confidence
    closed = completed_record(SCHEMA, known, answer, allow_extra_fields=False)
    assert "maker" not in closed.data


def test_an_answer_that_breaks_the_schema_leaves_the_record_invalid_with_its_errors() -> None:
    record = completed_record(SCHEMA, _known(), {"warranty_years": "two"}, allow_extra_fields=True)
    assert not record.valid
    assert record.errors == [{"path": "/warranty_years", "message": "'two' is not of type 'integer'"}]
