"""Whether a tenant may start another run: its monthly page quota and its active-run cap."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuotaExceeded:
    status: int  # 402: pay (wait for next month); 429: wait for runs to finish
    reason: str


def check_quota(
    *, pages_used: int, quota_pages: int, active_runs: int, max_active_runs: int
) -> QuotaExceeded | None:
    if pages_used >= quota_pages:
        return QuotaExceeded(
            402, f"monthly page quota exhausted: {pages_used:,} of {quota_pages:,} pages used this month"
        )
    if active_runs >= max_active_runs:
        return QuotaExceeded(
            429,
            f"{active_runs} runs are active, the most this tenant may have at once; wait for one to finish",
        )
    return None
