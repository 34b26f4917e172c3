"""The contract check: stale files and incompatible changes to an existing event version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared import contracts
from shared.events import Event, PageFetched
from trawl.registry import consumers_by_event_type


class Base(Event):
    event_name = "sample"
    name: str
    size: int | None = None


class FieldRemoved(Event):
    event_name = "sample"
    size: int | None = None


class OptionalFieldAdded(Base):
    note: str | None = None


class RequiredFieldAdded(Base):
    note: str


class FieldRetyped(Event):
    event_name = "sample"
    name: int
    size: int | None = None


def _schema(model: type[Event]) -> dict[str, Any]:
    return model.model_json_schema()


def test_removed_field_is_breaking() -> None:
    assert contracts.compatibility_problems(_schema(Base), _schema(FieldRemoved)) == ["name: field removed"]


def test_added_optional_field_is_compatible() -> None:
    assert contracts.compatibility_problems(_schema(Base), _schema(OptionalFieldAdded)) == []


def test_added_required_and_retyped_fields_are_breaking() -> None:
    assert contracts.compatibility_problems(_schema(Base), _schema(RequiredFieldAdded)) == [
        "note: new field is required (add it as optional)"
    ]
    assert contracts.compatibility_problems(_schema(Base), _schema(FieldRetyped)) == [
        "name: type changed from 'string' to 'integer'"
    ]


def test_nested_changes_are_found_through_refs() -> None:
    old = contracts.event_schema(PageFetched)
    new = json.loads(json.dumps(old))
    del new["properties"]["content_hash"]
    assert "content_hash: field removed" in contracts.compatibility_problems(old, new)


@pytest.fixture
def contract_dir(tmp_path: Path) -> Path:
    contracts.generate(tmp_path, consumers_by_event_type())
    return tmp_path


def test_check_fails_on_a_removed_field(contract_dir: Path) -> None:
    path = contract_dir / "events" / "PageFetched.v1.json"
    published = json.loads(path.read_text())
    # The published contract has a field the models no longer produce.
    published["properties"]["legacy_field"] = {"type": "string", "title": "Legacy Field"}
    published["required"].append("legacy_field")
    path.write_text(contracts.render(published))
    result = contracts.check(contract_dir, consumers_by_event_type())
    assert not result.ok
    assert result.breaking == ["events/PageFetched.v1.json: legacy_field: field removed"]
    with pytest.raises(contracts.ContractError):
        contracts.generate(contract_dir, consumers_by_event_type())


def test_check_passes_an_added_optional_field_once_regenerated(contract_dir: Path) -> None:
    path = contract_dir / "events" / "PageFetched.v1.json"
    published = json.loads(path.read_text())
    # The published contract lacks an optional field the models now have.
    del published["properties"]["unchanged"]
    path.write_text(contracts.render(published))
    result = contracts.check(contract_dir, consumers_by_event_type())
    assert result.breaking == []
    assert result.stale == ["events/PageFetched.v1.json: differs from the models"]
    assert contracts.generate(contract_dir, consumers_by_event_type()) == ["events/PageFetched.v1.json"]
    assert contracts.check(contract_dir, consumers_by_event_type()).ok


def test_the_committed_contracts_are_current() -> None:
    assert contracts.check(contracts.SCHEMAS_DIR, consumers_by_event_type()).ok
