"""What a run costs in credits (seed 001 runs.credits_charged): its fetched pages and the LLM
tokens its tasks spent, at the configured rates."""

from __future__ import annotations


def credits_charged(pages: int, tokens: int, *, per_page: float, per_thousand_tokens: float) -> float:
    return round(pages * per_page + tokens / 1000 * per_thousand_tokens, 4)
