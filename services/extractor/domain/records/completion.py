"""A record completed by an LLM (the llm issue's schema extraction): what to ask for, and the
record once the answer is in.

The llm service is sent the schema without Trawl's annotations (they mean nothing to a model,
and strict structured output refuses unknown keywords), the fields already filled and the
required ones still missing. Its answer keeps every field filled before (the llm service merges
so), and is validated here exactly as a record filled by rules is; fields the model filled
have `LLM_CONFIDENCE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.extractor.domain.records import (
    RecordResult,
    compiled_schema,
    overall_confidence,
    validation_errors,
)
from services.extractor.domain.records.mapping import loose

LLM_CONFIDENCE = 0.7
_ANNOTATION_PREFIX = "x-trawl-"


def missing_required(definition: Mapping[str, Any], record: RecordResult) -> list[str]:
    """The schema's required top-level properties the record has no value for."""
    return [name for name in definition.get("required", []) if record.data.get(name) in (None, "", [])]


def wants_llm(mode: str, definition: Mapping[str, Any], record: RecordResult) -> bool:
    """Whether a job with `options.llm_extraction` = `mode` asks an LLM to complete this record."""
    return mode == "always" or (mode == "missing" and bool(missing_required(definition, record)))


def schema_for_llm(definition: Any) -> Any:
    """The schema without Trawl's `x-trawl-*` annotations."""
    if isinstance(definition, dict):
        return {
            key: schema_for_llm(value)
            for key, value in definition.items()
            if not key.startswith(_ANNOTATION_PREFIX)
        }
    if isinstance(definition, list):
        return [schema_for_llm(value) for value in definition]
    return definition


def completed_record(
    definition: Mapping[str, Any], known: RecordResult, answer: Mapping[str, Any], *, allow_extra_fields: bool
) -> RecordResult:
    """The record once the model's answer is in: what rules filled stays, the model fills the rest."""
    schema = dict(definition)
    _problems, validator = compiled_schema(schema)
    named = {loose(name) for name in schema.get("properties", {})}
    closed = not allow_extra_fields or schema.get("additionalProperties") is False
    data = dict(known.data)
    confidence = dict(known.field_confidence)
    for name, value in answer.items():
        if value in (None, "", []) or name in data or (closed and loose(name) not in named):
            continue
        data[name] = value
        confidence[name] = LLM_CONFIDENCE
    errors = validation_errors(validator, data) if validator is not None else known.errors
    return RecordResult(data, not errors, errors, overall_confidence(schema, confidence), confidence)
