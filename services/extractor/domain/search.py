"""Reciprocal Rank Fusion of ranked result lists, looser full-text queries, and deterministic ids
of documents and chunks."""

from __future__ import annotations

import itertools
import math
import re
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


_MAX_GROUPS = 28  # AND-groups in one relaxed tsquery; a step that needs more is skipped
_LEXEME = re.compile(r"'((?:[^']|'')*)'(?::[A-D*]+)?")


def relaxed_queries(strict: str) -> list[str]:
    """Looser tsqueries to try, in order, when the strict one (every term, as
    `websearch_to_tsquery` writes it) finds too little: all terms but one, then any two, then
    any one.

    Chunks matching many of the terms are few even when each term is common, so the early
    steps stay cheap where matching any term would read thousands of chunks; and they are the
    better answers anyway. A query with an operator other than AND (a phrase, OR, a negation)
    keeps its meaning: nothing looser is tried."""
    if not strict or any(operator in strict for operator in ("|", "!", "<")):
        return []
    quoted = [f"'{lexeme}'" for lexeme in dict.fromkeys(_LEXEME.findall(strict))]
    # Each step reads the terms' index entries again (a few ms each at 100k chunks), so not
    # every size is tried: all terms but one, then any two, then any one.
    sizes = sorted({len(quoted) - 1, 2} - {0, 1}, reverse=True)
    steps = [
        " | ".join(f"( {' & '.join(group)} )" for group in itertools.combinations(quoted, size))
        for size in sizes
        if size < len(quoted) and math.comb(len(quoted), size) <= _MAX_GROUPS
    ]
    if len(quoted) >= 2:
        steps.append(" | ".join(quoted))
    return steps
