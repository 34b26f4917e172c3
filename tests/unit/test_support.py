"""The test helpers themselves: a wait that runs out fails the test, saying what it last saw."""

from __future__ import annotations

import pytest

from tests.support import WaitTimedOut, wait_until


async def test_wait_until_returns_the_first_truthy_value() -> None:
    answers = iter([0, [], {"done": True}])
    assert await wait_until(lambda: next(answers), within=5, interval=0) == {"done": True}


async def test_a_wait_that_runs_out_fails_with_the_last_value_seen() -> None:
    async def pending() -> list[str]:
        return []

    with pytest.raises(WaitTimedOut, match=r"the queue: not true within 0.05s; last seen \[\]"):
        await wait_until(pending, within=0.05, interval=0.01, what="the queue")
