"""URLs this worker knows are already in a run's frontier."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID


class KnownUrls:
    """URL hashes this worker knows are in a run's frontier, so that links to them (most links,
    on most pages) are not sent to Postgres again. The frontier's unique key stays the
    authority; this only saves the round of conflicts. Bounded per run."""

    def __init__(self, per_run: int = 500_000) -> None:
        self._per_run = per_run
        self._runs: dict[UUID, set[str]] = {}

    def has(self, run_id: UUID, url_hash: str) -> bool:
        known = self._runs.get(run_id)
        return known is not None and url_hash in known

    def add(self, run_id: UUID, url_hashes: Sequence[str]) -> None:
        known = self._runs.setdefault(run_id, set())
        if len(known) < self._per_run:
            known.update(url_hashes)

    def keep_only(self, run_ids: set[UUID]) -> None:
        for run_id in self._runs.keys() - run_ids:
            del self._runs[run_id]
