"""When a run is finished, from the counts of the other services' events.

A crawl run is done when the crawler's RunCompleted is in and the extractor has answered
(ChunkIndexed or TaskFailed) for every page the crawler published; an upload run when the
extractor has answered for every uploaded document. Either way, every item the extractor's
answers announced (products, records) must have been counted from its ItemExtracted, so a
run's completion never overtakes its items.
"""

from __future__ import annotations

from dataclasses import dataclass

TERMINAL = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class RunState:
    kind: str  # 'crawl' or 'upload'
    status: str
    crawler_status: str | None  # the status in the crawler's RunCompleted, once in
    pages_published: int | None
    documents_expected: int | None
    extractor_outcomes: int
    extractor_failures: int = 0
    items_announced: int = 0
    items_found: int = 0


def completion_counters(state: RunState) -> dict[str, int]:
    """What a run's RunCompleted tells the services that wait for all of its events."""
    return {
        "extractor_outcomes": state.extractor_outcomes,
        "chunk_indexed": state.extractor_outcomes - state.extractor_failures,
        "items_found": state.items_found,
    }


def final_status(state: RunState) -> str | None:
    """The status the run ends with, or None while it is still going."""
    if state.status in TERMINAL or state.items_found < state.items_announced:
        return None
    if state.kind == "upload":
        expected = state.documents_expected
        return "completed" if expected is not None and state.extractor_outcomes >= expected else None
    if state.crawler_status is None or state.pages_published is None:
        return None
    if state.extractor_outcomes < state.pages_published:
        return None
    return "completed" if state.crawler_status == "completed" else state.crawler_status
