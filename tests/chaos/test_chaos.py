"""The chaos run, small: about 200 pages, 8 SIGKILLs of random services, one broker restart and
three poison events, on a local stack of its own (`make chaos` is the full one). Every line of
its table must hold; its time is printed, not asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.harness import Plan, chaos_run, table

pytestmark = pytest.mark.integration


async def test_nothing_is_lost_under_kills_a_broker_restart_and_poison(tmp_path: Path) -> None:
    plan = Plan(pages=200, kills=8, restarts=("kafka",), poisons=3, baseline=False, timeout=600)
    text, ok = table(await chaos_run(plan, tmp_path))
    print(text)
    assert ok, text
