"""The five services, for tools that run or describe them all."""

from __future__ import annotations

from shared.service import ServiceSpec


def all_specs() -> list[ServiceSpec]:
    from services.crawler.app import SPEC as crawler
    from services.exporter.app import SPEC as exporter
    from services.extractor.app import SPEC as extractor
    from services.ingest.app import SPEC as ingest
    from services.llm.app import SPEC as llm

    return [ingest, crawler, extractor, llm, exporter]


def consumers_by_event_type() -> dict[str, list[str]]:
    """ce_type -> the services that consume it."""
    consumers: dict[str, list[str]] = {}
    for spec in all_specs():
        for event_type in spec.handlers:
            consumers.setdefault(event_type.type_name(), []).append(spec.name)
    return consumers
