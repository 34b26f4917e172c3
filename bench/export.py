"""Exports of a large run: rows/s and the exporter's peak memory per format, beside writing the
same rows straight to a local file with pyarrow (Parquet) and the csv module (CSV) in the same
run.

    python -m bench.export [--rows 1000000] [--formats csv,jsonl,json,xlsx,parquet]

The exporter runs in this process on the local stack (started if needed). Its read model is
filled with `--rows` items by COPY (the speed of export is measured, not of ingestion): nested
data, Unicode, numbers and lists as records carry them. Each export is asked for as ingest asks
(ExportRequested on Kafka) and timed to its completion; the file is then in S3. Peak RSS is the
process's, sampled every 50 ms during the export, against its RSS before (the target: at most
300 MB for every format). The reference writes the same rows, already in memory, to a local
file: its time is the floor an export cannot beat, since it reads nothing from PostgreSQL and
writes nothing to S3.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import functools
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from bench.crawl_vs_scrapy import PeakRss
from services.exporter.app import SPEC
from shared.config import Settings
from shared.events import ExportDataset, ExportFormat, ExportRequested, JobConfig, JobCreated
from shared.logging import configure_logging
from shared.producer import publish_direct
from shared.service import ServiceRuntime, running
from tests.support import drop_isolated, wait_until
from trawl import localstack

_COPY_BATCH = 50_000


def record(index: int) -> dict[str, Any]:
    return {
        "title": f"Phare n°{index} « Île Vierge »",
        "price": round(10 + index % 997 * 0.37, 2),
        "stock": index % 13,
        "offer": {"seller": f"Maison {index % 101}", "tags": ["mer", "été"]},
    }


async def fill(pool: Any, tenant: UUID, run: UUID, job: UUID, rows: int) -> None:
    async with pool.acquire() as conn:
        for start in range(0, rows, _COPY_BATCH):
            batch = [
                (
                    uuid4(),
                    run,
                    tenant,
                    "schema_result",
                    record(index),
                    f"h{index}",
                    0.9,
                    f"https://p.example/{index}",
                    job,
                    True,
                    True,
                    [],
                )
                for index in range(start, min(rows, start + _COPY_BATCH))
            ]
            await conn.copy_records_to_table(
                "export_items",
                records=batch,
                columns=[
                    "item_id",
                    "run_id",
                    "tenant_id",
                    "kind",
                    "data",
                    "content_hash",
                    "confidence",
                    "source_url",
                    "job_id",
                    "valid",
                    "kept",
                    "errors",
                ],
            )


async def _ended(pool: Any, export_id: UUID) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT status IN ('completed', 'failed') FROM exports WHERE export_id = $1", export_id
        )
    )


def reference(rows: int, directory: Path) -> dict[str, float]:
    """Seconds to write the same rows to local files: pyarrow Parquet, csv CSV."""
    data = [record(index) for index in range(rows)]
    started = time.perf_counter()
    table = pa.Table.from_pylist(
        [{**row, "offer": json.dumps(row["offer"], ensure_ascii=False)} for row in data]
    )
    pq.write_table(table, directory / "reference.parquet")
    parquet = time.perf_counter() - started
    started = time.perf_counter()
    with (directory / "reference.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["title", "price", "stock", "offer"])
        writer.writeheader()
        for row in data:
            writer.writerow({**row, "offer": json.dumps(row["offer"], ensure_ascii=False)})
    return {"parquet": parquet, "csv": time.perf_counter() - started}


async def main(args: argparse.Namespace, base: Settings) -> None:
    tag = uuid4().hex[:8]
    settings = base.model_copy(
        update={"topic_prefix": f"bench{tag}.", "schema_prefix": f"bench{tag}_", "http_base_port": 0}
    )
    formats = [ExportFormat(name) for name in args.formats.split(",")]
    results: list[tuple[str, float, int, int]] = []
    try:
        async with running([ServiceRuntime(SPEC, settings)]) as (runtime,):
            pool = runtime.pool
            assert pool is not None
            tenant, run, job = uuid4(), uuid4(), uuid4()
            config = JobConfig.model_validate({"seeds": ["https://p.example/"]})
            await publish_direct(
                settings,
                [
                    JobCreated(
                        tenant_id=tenant, job_id=job, run_id=run, config=config, created_at=datetime.now(UTC)
                    )
                ],
                source="bench",
            )
            await wait_until(
                lambda: pool.fetchval("SELECT true FROM run_configs WHERE run_id = $1", run), within=60
            )
            filled = time.perf_counter()
            await fill(pool, tenant, run, job, args.rows)
            print(f"read model: {args.rows:,} items copied in {time.perf_counter() - filled:.1f}s")
            for format in formats:
                before = psutil.Process().memory_info().rss
                memory = PeakRss()
                export_id = uuid4()
                async with memory.sampling():
                    started = time.perf_counter()
                    await publish_direct(
                        settings,
                        [
                            ExportRequested(
                                tenant_id=tenant,
                                export_id=export_id,
                                run_id=run,
                                job_id=job,
                                format=format,
                                dataset=ExportDataset.ITEMS,
                                requested_at=datetime.now(UTC),
                            )
                        ],
                        source="bench",
                    )
                    await wait_until(functools.partial(_ended, pool, export_id), within=3600, interval=0.5)
                    seconds = time.perf_counter() - started
                row = await pool.fetchrow(
                    "SELECT status, file_size, error_message FROM exports WHERE export_id = $1", export_id
                )
                if row["status"] != "completed":
                    print(f"{format.value}: {row['status']}: {row['error_message']}")
                    continue
                results.append((format.value, seconds, row["file_size"], memory.peak - before))
    finally:
        await drop_isolated(settings)
    with tempfile.TemporaryDirectory(prefix="trawl-bench-") as tmp:
        floor = reference(args.rows, Path(tmp))
    print(f"{'format':<8}{'seconds':>9}{'rows/s':>10}{'MiB':>8}{'peak RSS +MiB':>15}{'vs local file':>15}")
    for name, seconds, size, grown in results:
        versus = f"{seconds / floor[name]:.1f}x slower" if name in floor else ""
        print(
            f"{name:<8}{seconds:>9.1f}{args.rows / seconds:>10,.0f}{size / 2**20:>8.1f}"
            f"{grown / 2**20:>15.0f}{versus:>15}"
        )
    print(
        f"reference: pyarrow Parquet {args.rows / floor['parquet']:,.0f} rows/s, "
        f"csv module {args.rows / floor['csv']:,.0f} rows/s (rows in memory, local disk)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,jsonl,json,xlsx,parquet")
    settings = Settings(log_level="WARNING")
    configure_logging("bench", settings.log_level, settings.log_json)
    if any(component.state == "stopped" for component in localstack.status(settings)):
        localstack.up(settings)
    asyncio.run(main(parser.parse_args(), settings))
