"""LLM task throughput against a slow, metered OpenAI-compatible server, and the cache on a
second pass.

    python -m bench.llm_throughput [--tasks 600] [--tpm 12000] [--delay 0.2] [--concurrency 8]

The llm service runs in this process on the local stack (Kafka, PostgreSQL, S3; started if
needed), against `tests.sites.openai_server.FakeOpenAI` answering every call after `--delay`
seconds and refusing (429 + Retry-After) what would take the last minute's tokens over `--tpm`.
The service is told the same limit (`TRAWL_LLM_TOKENS_PER_MINUTE`). One run's query over
`--tasks` distinct products is timed to the last completed task; then a second run over the
same products, which should be answered from the cache: no call, no token.

Printed: tasks/s, tokens per minute achieved over the limit (overall, and after the first
minute, when the limiter's initial full bucket no longer counts), the share of calls refused
with 429 (target at most 1%), and the second pass's cache hits and tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from uuid import UUID, uuid4

from pydantic import SecretStr

from services.llm.app import SPEC
from shared.config import Settings
from shared.events import ItemExtracted, ItemKind, JobConfig, JobCreated
from shared.logging import configure_logging
from shared.producer import publish_direct
from shared.service import ServiceRuntime, running
from tests.sites.openai_server import FakeOpenAI
from tests.support import drop_isolated, wait_until
from trawl import localstack

QUERY = {"name": "pitch", "prompt": "Write a one-line sales pitch for this product."}


async def start_run(settings: Settings, tenant: UUID, job: UUID, products: int) -> UUID:
    run = uuid4()
    config = JobConfig.model_validate({"seeds": ["https://shop.example/"], "llm_queries": [QUERY]})
    events: list[JobCreated | ItemExtracted] = [
        JobCreated(tenant_id=tenant, job_id=job, run_id=run, config=config, created_at=datetime.now(UTC))
    ]
    await publish_direct(settings, events, source="bench")
    await asyncio.sleep(1.0)  # the run's queries first, as a crawl's JobCreated comes first
    items = [
        ItemExtracted(
            tenant_id=tenant,
            job_id=job,
            run_id=run,
            item_id=uuid4(),
            kind=ItemKind.PRODUCT,
            data={"name": f"Lantern model {index}", "sku": f"L-{index}", "price": f"{10 + index % 90}.00"},
            content_hash=f"page-{index}",
            product_hash=f"product-{index}",
        )
        for index in range(products)
    ]
    await publish_direct(settings, items, source="bench")
    return run


async def main(args: argparse.Namespace, base: Settings) -> None:
    tag = uuid4().hex[:8]
    async with FakeOpenAI(delay_seconds=args.delay, tokens_per_minute=args.tpm) as server:
        settings = base.model_copy(
            update={
                "topic_prefix": f"bench{tag}.",
                "schema_prefix": f"bench{tag}_",
                "http_base_port": 0,
                "llm_url": server.api_url,
                "llm_api_key": SecretStr(server.api_key),
                "llm_model": "bench-model",
                "llm_tokens_per_minute": float(args.tpm),
                "llm_concurrency": args.concurrency,
                "llm_max_output_tokens": 64,
                "llm_poll_seconds": 0.05,
                "llm_retry_seconds": 0.5,
            }
        )
        try:
            async with running([ServiceRuntime(SPEC, settings)]) as (runtime,):
                pool = runtime.pool
                assert pool is not None
                tenant, job = uuid4(), uuid4()

                async def completed(run: UUID) -> bool:
                    done = await pool.fetchval(
                        "SELECT count(*) FROM llm_tasks WHERE run_id = $1 AND status = 'completed'", run
                    )
                    return bool(done == args.tasks)

                started = time.perf_counter()
                first = await start_run(settings, tenant, job, args.tasks)
                await wait_until(lambda: completed(first), within=3600, interval=0.2)
                seconds = time.perf_counter() - started
                calls, refused = len(server.requests), server.rate_limited
                spent = await pool.fetch(
                    """SELECT extract(epoch FROM completed_at) AS at,
                              prompt_tokens + completion_tokens AS tokens
                         FROM llm_tasks WHERE run_id = $1 ORDER BY completed_at""",
                    first,
                )
                tokens = sum(row["tokens"] for row in spent)
                begun = float(spent[0]["at"])
                steady = [row["tokens"] for row in spent if float(row["at"]) >= begun + 60]
                steady_minutes = (float(spent[-1]["at"]) - begun - 60) / 60 if len(steady) > 1 else 0.0

                again_started = time.perf_counter()
                second = await start_run(settings, tenant, job, args.tasks)
                await wait_until(lambda: completed(second), within=3600, interval=0.2)
                again_seconds = time.perf_counter() - again_started
                cached = await pool.fetchval(
                    "SELECT count(*) FROM llm_tasks WHERE run_id = $1 AND cached", second
                )
                spent_again = await pool.fetchval(
                    """SELECT COALESCE(sum(prompt_tokens + completion_tokens), 0)
                         FROM llm_tasks WHERE run_id = $1""",
                    second,
                )
        finally:
            await drop_isolated(settings)
    print(
        f"{args.tasks} tasks, server: {args.delay * 1000:.0f} ms a call, limit {args.tpm:,} tokens/min; "
        f"{args.concurrency} calls in flight at most"
    )
    print(
        f"first pass : {seconds:.1f}s, {args.tasks / seconds:.1f} tasks/s, {calls} calls, {tokens:,} tokens"
    )
    print(
        f"  tokens/min achieved over the limit: {tokens / (seconds / 60) / args.tpm:.2f} (whole run)", end=""
    )
    if steady_minutes > 0:
        print(f", {sum(steady) / steady_minutes / args.tpm:.2f} (after the first minute)")
    else:
        print(" (run shorter than two minutes: use more --tasks for the steady rate)")
    print(
        f"  refused with 429: {refused} of {calls} calls = {refused / max(calls, 1):.1%} (target at most 1%)"
    )
    print(
        f"second pass: {again_seconds:.1f}s, cache hits {cached}/{args.tasks} = {cached / args.tasks:.0%}, "
        f"{spent_again} tokens, {len(server.requests) - calls} calls"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=600)
    parser.add_argument("--tpm", type=int, default=12_000)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    settings = Settings(log_level="WARNING")
    configure_logging("bench", settings.log_level, settings.log_json)
    if any(component.state == "stopped" for component in localstack.status(settings)):
        localstack.up(settings)
    asyncio.run(main(parser.parse_args(), settings))
