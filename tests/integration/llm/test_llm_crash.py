"""A `kill -9` of the llm service in the middle of a 2,000-task session: after a restart every
task ends, none is lost, and only the calls in flight at the kill are made twice."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from pathlib import Path
from uuid import uuid4

import pytest

from services.llm.app import SPEC
from shared.config import Settings
from shared.db import create_pool
from shared.events import LlmQuery
from shared.s3 import ObjectStore
from tests.integration.llm.conftest import publish_products, start_run
from tests.sites.openai_server import FakeOpenAI
from tests.support import WaitTimedOut, prepare, settings_env, wait_until

pytestmark = pytest.mark.integration

TASKS = 2_000
CONCURRENCY = 8
QUARTER_WAIT = 180.0
ALL_WAIT = 300.0


async def _start(settings: Settings, server: FakeOpenAI, log: Path) -> asyncio.subprocess.Process:
    env = settings_env(
        settings,
        TRAWL_S3_BUCKET=settings.s3_bucket,
        TRAWL_HTTP_BASE_PORT="0",
        TRAWL_LLM_URL=server.api_url,
        TRAWL_LLM_API_KEY=server.api_key,
        TRAWL_LLM_CONCURRENCY=str(CONCURRENCY),
        TRAWL_LLM_POLL_SECONDS="0.05",
        TRAWL_LLM_LEASE_SECONDS="3",
        TRAWL_OUTBOX_POLL_INTERVAL="0.2",
        TRAWL_LOG_LEVEL="INFO",
        TRAWL_LOG_JSON="false",
    )
    with log.open("ab") as output:  # the child's own copy of the descriptor outlives this block
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.llm", env=env, stdout=output, stderr=asyncio.subprocess.STDOUT
        )


@pytest.mark.timeout(QUARTER_WAIT + ALL_WAIT + 60)
async def test_a_killed_llm_service_loses_no_task_and_repeats_only_the_calls_in_flight(
    settings: Settings, object_store: ObjectStore, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"s3_bucket": object_store.bucket})
    log = tmp_path / "llm.log"
    await prepare(settings, "llm", SPEC.migrations_dir)
    pool = await create_pool(settings, "llm")
    async with FakeOpenAI(delay_seconds=0.1) as server:
        tenant, job = uuid4(), uuid4()
        query = LlmQuery(name="pitch", prompt="Write a one-line pitch.", output_schema=None)
        process = await _start(settings, server, log)
        try:
            run = await start_run(settings, tenant_id=tenant, job_id=job, queries=[query])
            products = [{"name": f"Lantern {index}", "sku": f"L-{index}"} for index in range(TASKS)]
            await publish_products(settings, tenant_id=tenant, job_id=job, run_id=run, products=products)

            async def completed() -> int:
                done: int = await pool.fetchval(
                    "SELECT count(*) FROM llm_tasks WHERE run_id = $1 AND status = 'completed'", run
                )
                return done

            async def planned() -> int:
                made: int = await pool.fetchval("SELECT count(*) FROM llm_tasks WHERE run_id = $1", run)
                return made

            # Killed while running tasks, once every product's task is planned: a consumer killed
            # mid-batch is the consumers' own test, and its replacement would wait for the group's
            # rebalance (up to max.poll.interval.ms) before reading on.
            await wait_until(
                lambda: _at_least(planned, TASKS), within=QUARTER_WAIT, what="every task planned"
            )
            await wait_until(
                lambda: _at_least(completed, TASKS // 4), within=QUARTER_WAIT, what="a quarter done"
            )
            assert await completed() < TASKS, "the kill must come while tasks run"
            process.send_signal(signal.SIGKILL)
            await process.wait()
            calls_before_restart = len(server.requests)
            process = await _start(settings, server, log)
            try:
                await wait_until(
                    lambda: _at_least(completed, TASKS), within=ALL_WAIT, interval=0.5, what="every task"
                )
            except WaitTimedOut:
                statuses = await pool.fetch(
                    "SELECT status, count(*) FROM llm_tasks WHERE run_id = $1 GROUP BY status", run
                )
                tail = log.read_text(errors="replace")[-4000:]
                raise AssertionError(
                    f"not every task ended: {[tuple(row) for row in statuses]}, "
                    f"{len(server.requests)} calls; the service said:\n{tail}"
                ) from None
        finally:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        statuses = await pool.fetch(
            "SELECT status, count(*) FROM llm_tasks WHERE run_id = $1 GROUP BY status", run
        )
        assert {row["status"]: row["count"] for row in statuses} == {"completed": TASKS}
        asked = Counter(request["messages"][-1]["content"] for request in server.requests)
        assert len(asked) == TASKS  # every product asked
        twice = sum(count - 1 for count in asked.values())
        assert twice <= CONCURRENCY, f"{twice} calls repeated; at most the {CONCURRENCY} in flight may be"
        assert calls_before_restart >= TASKS // 4
        outputs = await pool.fetchval(
            "SELECT count(DISTINCT s3_output_path) FROM llm_tasks WHERE run_id = $1", run
        )
        assert outputs == TASKS
    await pool.close()


async def _at_least(probe: object, wanted: int) -> bool:
    return bool(await probe() >= wanted)  # type: ignore[operator]
