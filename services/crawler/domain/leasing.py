"""How much of a run a worker may lease now, within the run's page (and image) budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from services.crawler.domain.records import RunBudget

T = TypeVar("T")


@dataclass(frozen=True)
class LeaseRequest:
    kinds: list[str]  # frontier kinds to lease
    limit: int


def lease_request(budget: RunBudget, *, collects_images: bool, room: int) -> LeaseRequest | None:
    """What to lease of a run with `room` free slots; None when its budget is spent. Sitemaps
    share the page budget; images have their own, when the job sets one."""
    kinds = ["page", "sitemap"] if budget.pages_left > 0 else []
    if collects_images and (budget.images_left is None or budget.images_left > 0):
        kinds.append("image")
    if not kinds:
        return None
    return LeaseRequest(kinds, min(room, max(budget.pages_left, 0) or room))


def rotated(items: Sequence[T], turn: int) -> list[T]:
    """`items` starting at `turn` (modulo their number), so that each turn favours another."""
    if not items:
        return []
    start = turn % len(items)
    return [*items[start:], *items[:start]]
