"""What the chaos run made, measured through the public API, `trawl reconcile`, the DLQ and the
services' tables, and the table that compares it with what it must be."""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx

from shared import dlq
from shared.config import Settings
from shared.events import RunCompleted
from shared.topics import topic_for
from tests.chaos.faults import CountingModel, Planted
from tests.chaos.site import SiteShape
from tests.chaos.store import Stored, stored
from tests.support import consume_all


@dataclass(frozen=True)
class Letter:
    topic: str  # the source topic
    offset: int
    service: str
    reason: str


@dataclass(frozen=True)
class Measures:
    status: str
    ingest_completions: int
    fetched: set[str]  # paths
    stored: Stored
    products: list[str]  # SKUs, one per product item
    records: list[str]  # paths, one per valid schema record
    items: int
    llm_calls: int
    export_status: str
    export_rows: int
    reconcile: str  # `trawl reconcile`'s summary line
    reconcile_ok: bool
    points: int
    letters: list[Letter]


async def measure(
    http: httpx.AsyncClient,
    settings: Settings,
    env: dict[str, str],
    run_id: str,
    shape: SiteShape,
    model: CountingModel,
) -> Measures:
    run = (await http.get(f"/v1/runs/{run_id}")).raise_for_status().json()
    pages = await _listed(http, f"/v1/runs/{run_id}/pages", "urls", {"status": "fetched"})
    products = await _listed(http, f"/v1/runs/{run_id}/items", "items", {"kind": "product"})
    records = await _listed(http, f"/v1/runs/{run_id}/items", "items", {"kind": "schema_result"})
    export_status, export_rows = await _export(http, run_id)
    summary, ok, points = await _reconcile(env, run_id)
    completions = await consume_all(settings, [topic_for(RunCompleted, settings.topic_prefix)], expected=1)
    return Measures(
        status=run["status"],
        ingest_completions=sum(
            1
            for record in completions
            if (event := RunCompleted.model_validate_json(record.value)).service == "ingest"
            and str(event.run_id) == run_id
        ),
        fetched={_path(page["url"]) for page in pages},
        stored=await stored(settings, UUID(run_id)),
        products=[str(item["data"].get("sku")) for item in products],
        records=[_path(item["url"]) for item in records if item["valid"]],
        items=len(products) + len(records),
        llm_calls=len(model.requests),
        export_status=export_status,
        export_rows=export_rows,
        reconcile=summary,
        reconcile_ok=ok,
        points=points,
        letters=[
            Letter(
                letter.source_topic,
                int(letter.header("dlq_source_offset") or -1),
                letter.header("dlq_service"),
                letter.reason,
            )
            for letter in await dlq.pending(settings)
        ],
    )


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


async def _listed(
    http: httpx.AsyncClient, path: str, key: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        asked = {**params, "limit": "100"} | ({"cursor": cursor} if cursor else {})
        page = await http.get(path, params=asked)
        page.raise_for_status()
        found += page.json()[key]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


async def _export(http: httpx.AsyncClient, run_id: str) -> tuple[str, int]:
    """The run's export: its status and the rows of the file it made."""
    listed = (await http.get("/v1/exports", params={"run_id": run_id})).raise_for_status().json()["exports"]
    if not listed:
        return "none", 0
    export = listed[0]
    if export["status"] != "completed":
        return export["status"], 0
    link = await http.get(f"/v1/exports/{export['id']}/download")
    async with httpx.AsyncClient(timeout=60) as anyone:
        body = (await anyone.get(link.headers["location"])).raise_for_status().text
    return f"{export['status']} ({len(listed)} made)", sum(1 for line in body.splitlines() if line.strip())


async def _reconcile(env: dict[str, str], run_id: str) -> tuple[str, bool, int]:
    """`trawl reconcile --run ID`: its summary line, whether it found nothing, the points."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trawl", "reconcile", "--run", run_id,
        env={**env, "COLUMNS": "200"}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await process.communicate())[0].decode()
    found = re.search(r"chunks (\d+), points (\d+):.*", output)
    summary = found.group(0).strip() if found else output.strip()[-200:]
    return summary, process.returncode == 0, int(found.group(2)) if found else -1


@dataclass(frozen=True)
class Line:
    check: str
    expected: str
    measured: str
    ok: bool


def lines(shape: SiteShape, measures: Measures, *, planted: list[Planted], in_flight: int) -> list[Line]:
    reachable = shape.reachable()
    skus = sorted(product.sku for product in shape.catalogue())
    m, s = measures, measures.stored
    tasks = sum(s.llm_tasks.values())
    expected_letters = sorted(
        (plant.topic, plant.offset, service) for plant in planted for service in plant.consumers
    )
    letters = sorted((letter.topic, letter.offset, letter.service) for letter in m.letters)
    reasons = ", ".join(sorted({letter.reason or "(none)" for letter in m.letters})) or "-"
    return [
        Line("run completed", "completed", m.status, m.status == "completed"),
        Line("ingest RunCompleted published", "1", str(m.ingest_completions), m.ingest_completions == 1),
        Line(
            "fetched pages = reachable set",
            f"{len(reachable)}",
            f"{len(m.fetched)} ({len(reachable - m.fetched)} missing, {len(m.fetched - reachable)} extra)",
            m.fetched == reachable,
        ),
        Line(
            "documents = pages",
            f"{len(reachable)}",
            f"{s.documents} ({s.document_urls} URLs)",
            s.documents == s.document_urls == len(reachable),
        ),
        Line("duplicate chunks", "0", str(s.duplicate_chunks), s.duplicate_chunks == 0),
        Line(
            "vector points = indexed chunks",
            str(s.indexed_chunks),
            f"{m.points}; reconcile: {m.reconcile}",
            m.reconcile_ok and m.points == s.indexed_chunks > 0,
        ),
        Line("products = expected set", str(len(skus)), str(len(m.products)), sorted(m.products) == skus),
        Line(
            "records = expected set",
            str(shape.products),
            str(len(m.records)),
            sorted(m.records) == sorted(shape.product_paths()),
        ),
        Line(
            "LLM tasks completed",
            str(shape.products),
            ", ".join(f"{n} {status}" for status, n in sorted(s.llm_tasks.items())) or "none",
            s.llm_tasks == {"completed": shape.products},
        ),
        Line(
            "LLM calls <= tasks + in flight at kills",
            f"<= {tasks} + {in_flight}",
            str(m.llm_calls),
            m.llm_calls <= tasks + in_flight,
        ),
        Line(
            "export rows = items",
            str(m.items),
            f"{m.export_rows}, {m.export_status}",
            m.export_rows == m.items == 2 * shape.products,
        ),
        Line(
            "DLQ = planted poison events",
            f"{len(expected_letters)}",
            f"{len(letters)}; reasons: {reasons}",
            letters == expected_letters and all(letter.reason for letter in m.letters),
        ),
    ]


def render(rows: list[Line]) -> str:
    widths = [max(len(getattr(row, name)) for row in rows) for name in ("check", "expected", "measured")]
    head = f"{'check':<{widths[0]}}  {'expected':<{widths[1]}}  {'measured':<{widths[2]}}  ok"
    body = [
        f"{row.check:<{widths[0]}}  {row.expected:<{widths[1]}}  {row.measured:<{widths[2]}}  "
        f"{'yes' if row.ok else 'NO'}"
        for row in rows
    ]
    return "\n".join([head, "-" * len(head), *body])
