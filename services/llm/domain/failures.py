"""How an LLM task fails, and what happens next: each failure has a class (seed 000
failed_tasks), a status, and whether trying again can help."""

from __future__ import annotations

from typing import Literal

ErrorClass = Literal[
    "rate_limit", "context_length", "validation", "refusal", "server", "timeout", "budget", "client"
]
# What trying again can fix: the endpoint's load or health, not the request itself.
_RETRYABLE: frozenset[ErrorClass] = frozenset({"rate_limit", "server", "timeout", "validation"})
_MAX_DELAY = 600.0


class LlmError(Exception):
    """A call (or the decision not to make one) that did not give a usable answer."""

    def __init__(
        self,
        error_class: ErrorClass,
        message: str,
        *,
        retry_after: float | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        calls: int = 1,
    ) -> None:
        super().__init__(message)
        self.error_class: ErrorClass = error_class
        self.message = message
        self.retry_after = retry_after
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.calls = calls

    @property
    def retryable(self) -> bool:
        return self.error_class in _RETRYABLE


def failure_status(error_class: ErrorClass) -> Literal["failed", "timeout", "error"]:
    """failed_tasks.status: a timeout, an endpoint's error, or the task's own failure."""
    if error_class == "timeout":
        return "timeout"
    if error_class in ("rate_limit", "server"):
        return "error"
    return "failed"


def next_try_in(error: LlmError, *, attempts: int, max_attempts: int, base_seconds: float) -> float | None:
    """Seconds until the task is tried again, or None when it has failed for good."""
    if not error.retryable or attempts >= max_attempts:
        return None
    backoff: float = min(base_seconds * 2.0 ** (attempts - 1), _MAX_DELAY)
    return max(backoff, error.retry_after or 0.0)
