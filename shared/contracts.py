"""Event contracts on disk: `schemas/events/<Type>.v<N>.json` and `schemas/asyncapi.json`.

`generate` writes them from the pydantic models; `check` fails when they are stale or when
a model changed an existing version incompatibly. Compatible means both directions keep
working: consumers of the old contract read new events and new consumers read old events.
So a field may be added only as optional; removing, renaming, retyping a field, making it
required (or optional, since old readers expect it), or dropping an enum value needs a new
major version of the event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from shared.events import EVENT_TYPES, Event

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
# Wording only: never part of compatibility.
_ANNOTATIONS = frozenset({"title", "description", "examples", "default"})

JsonSchema = dict[str, Any]


def contract_filename(event_type: type[Event]) -> str:
    return f"{event_type.__name__}.v{event_type.version}.json"


def event_schema(event_type: type[Event]) -> JsonSchema:
    schema = event_type.model_json_schema(mode="validation")
    schema["$id"] = f"https://trawl.dev/schemas/events/{contract_filename(event_type)}"
    schema["x-ce-type"] = event_type.type_name()
    return schema


def asyncapi_document(consumers: Mapping[str, list[str]]) -> JsonSchema:
    """Channels per event topic with their payload schema; `consumers` maps ce_type -> services."""
    broker = KafkaBroker()
    for event_type in EVENT_TYPES:
        readers = ", ".join(consumers.get(event_type.type_name(), [])) or "external consumers"
        broker.publisher(
            event_type.type_name(),
            title=event_type.type_name(),
            description=f"{_summary(event_type)} Key: {event_type.key_doc}. Consumed by: {readers}.",
            schema=event_type,
        )
    spec = AsyncAPI(
        broker,
        title="Trawl events",
        version="1",
        description="Kafka topics of Trawl. CloudEvents 1.0 binary mode: ce_* headers, JSON payload.",
    )
    document: JsonSchema = json.loads(spec.to_specification().to_json())
    return document


def _summary(event_type: type[Event]) -> str:
    return (event_type.__doc__ or event_type.__name__).strip().splitlines()[0].rstrip(".") + "."


def render(payload: JsonSchema) -> str:
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def expected_files(consumers: Mapping[str, list[str]]) -> dict[Path, str]:
    files = {
        Path("events") / contract_filename(event_type): render(event_schema(event_type))
        for event_type in EVENT_TYPES
    }
    files[Path("asyncapi.json")] = render(asyncapi_document(consumers))
    return files


@dataclass(frozen=True)
class CheckResult:
    stale: list[str]
    breaking: list[str]

    @property
    def ok(self) -> bool:
        return not self.stale and not self.breaking


def check(directory: Path, consumers: Mapping[str, list[str]]) -> CheckResult:
    stale: list[str] = []
    breaking: list[str] = []
    for relative, content in expected_files(consumers).items():
        path = directory / relative
        if not path.exists():
            stale.append(f"{relative}: missing")
            continue
        current = path.read_text()
        if current == content:
            continue
        stale.append(f"{relative}: differs from the models")
        if relative.parent.name == "events":
            breaking += [
                f"{relative}: {problem}"
                for problem in compatibility_problems(json.loads(current), json.loads(content))
            ]
    return CheckResult(stale, breaking)


def generate(
    directory: Path, consumers: Mapping[str, list[str]], *, allow_breaking: bool = False
) -> list[str]:
    """Write the contract files; refuses to overwrite an existing version with a breaking change."""
    result = check(directory, consumers)
    if result.breaking and not allow_breaking:
        raise ContractError(result.breaking)
    written = []
    for relative, content in expected_files(consumers).items():
        path = directory / relative
        if not path.exists() or path.read_text() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            written.append(str(relative))
    return written


class ContractError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("breaking changes to existing event versions:\n  " + "\n  ".join(problems))
        self.problems = problems


def compatibility_problems(old: JsonSchema, new: JsonSchema) -> list[str]:
    """Why `new` cannot replace `old` under the same version (empty when it can)."""
    return _compare(_Resolver(old), old, _Resolver(new), new, "")


class _Resolver:
    def __init__(self, root: JsonSchema) -> None:
        self._defs: dict[str, JsonSchema] = root.get("$defs", {})

    def resolve(self, schema: JsonSchema) -> JsonSchema:
        seen = set()
        while "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen:
                break
            seen.add(ref)
            schema = {
                **self._defs[ref.rsplit("/", 1)[-1]],
                **{k: v for k, v in schema.items() if k != "$ref"},
            }
        return schema


def _compare(
    old_root: _Resolver, old: JsonSchema, new_root: _Resolver, new: JsonSchema, path: str
) -> list[str]:
    old, new = old_root.resolve(old), new_root.resolve(new)
    where = path or "<root>"
    problems: list[str] = []
    if old.get("type") != new.get("type"):
        return [f"{where}: type changed from {old.get('type')!r} to {new.get('type')!r}"]
    for keyword in ("format", "const"):
        if old.get(keyword) != new.get(keyword):
            problems.append(f"{where}: {keyword} changed from {old.get(keyword)!r} to {new.get(keyword)!r}")
    if "enum" in old:
        dropped = [value for value in old["enum"] if value not in new.get("enum", [])]
        if dropped:
            problems.append(f"{where}: enum values removed: {dropped}")
    for keyword in ("anyOf", "oneOf", "allOf"):
        old_options, new_options = old.get(keyword, []), new.get(keyword, [])
        if len(old_options) != len(new_options):
            problems.append(
                f"{where}: {keyword} changed from {len(old_options)} to {len(new_options)} options"
            )
            continue
        for index, (old_option, new_option) in enumerate(zip(old_options, new_options, strict=True)):
            problems += _compare(old_root, old_option, new_root, new_option, f"{path}[{keyword}{index}]")
    for keyword in ("items", "additionalProperties"):
        if isinstance(old.get(keyword), dict) and isinstance(new.get(keyword), dict):
            problems += _compare(old_root, old[keyword], new_root, new[keyword], f"{path}[{keyword}]")
        elif old.get(keyword) != new.get(keyword) and not _only_annotations(
            old.get(keyword), new.get(keyword)
        ):
            problems.append(f"{where}: {keyword} changed")
    problems += _compare_properties(old_root, old, new_root, new, path)
    return problems


def _compare_properties(
    old_root: _Resolver, old: JsonSchema, new_root: _Resolver, new: JsonSchema, path: str
) -> list[str]:
    problems: list[str] = []
    old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name, old_property in old_properties.items():
        field = f"{path}.{name}" if path else name
        if name not in new_properties:
            problems.append(f"{field}: field removed")
            continue
        if (name in old_required) != (name in new_required):
            change = "became required" if name in new_required else "became optional"
            problems.append(f"{field}: {change}")
        problems += _compare(old_root, old_property, new_root, new_properties[name], field)
    for name in new_properties.keys() - old_properties.keys():
        if name in new_required:
            problems.append(f"{path + '.' if path else ''}{name}: new field is required (add it as optional)")
    return problems


def _only_annotations(old: Any, new: Any) -> bool:
    return bool(_without_annotations(old) == _without_annotations(new))


def _without_annotations(value: Any) -> Any:
    return {k: v for k, v in value.items() if k not in _ANNOTATIONS} if isinstance(value, dict) else value
