"""Reciprocal Rank Fusion of ranked result lists, and deterministic ids of documents and chunks."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID, uuid5

K = TypeVar("K", bound=Hashable)

# Cormack et al.'s constant: damps the weight of the very first ranks.
RRF_K = 60

_NAMESPACE = UUID("4d7c1f0e-6a47-4f5c-9d0b-2f1c8a6e7b31")


@dataclass(frozen=True)
class Fused(Generic[K]):
    key: K
    score: float
    ranks: tuple[int | None, ...]  # 1-based rank in each input list, None where absent


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], k: int = RRF_K) -> list[Fused[K]]:
    """Fuse best-first lists: score(d) = sum over lists of 1 / (k + rank). Ties keep the order
    of first appearance, so equal evidence favours the earlier list."""
    scores: dict[K, float] = {}
    ranks: dict[K, list[int | None]] = {}
    for list_number, ranking in enumerate(rankings):
        for rank, key in enumerate(ranking, start=1):
            if key not in ranks:
                ranks[key] = [None] * len(rankings)
                scores[key] = 0.0
            if ranks[key][list_number] is None:
                ranks[key][list_number] = rank
                scores[key] += 1.0 / (k + rank)
    order = sorted(scores, key=lambda key: -scores[key])
    return [Fused(key, scores[key], tuple(ranks[key])) for key in order]


def page_document_id(run_id: UUID, url_hash: str) -> UUID:
    """One document per page per run: a redelivered PageFetched finds the same id."""
    return uuid5(_NAMESPACE, f"page:{run_id}:{url_hash}")


def chunk_id(document_id: UUID, chunk_index: int) -> UUID:
    """Also the Qdrant point id, so re-upserting a chunk overwrites its point."""
    return uuid5(_NAMESPACE, f"chunk:{document_id}:{chunk_index}")
