"""Exports through the public API and the real services: a crawl's products as Parquet and CSV,
made by the exporter, listed, downloaded through a freshly presigned link (also with the
`trawl export` command's code), deleted; the export the job declares, made when its run
completes; an upload run's documents; another tenant sees none of it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from shared.config import Settings
from tests.e2e.stack import public_api
from tests.sites.shop_site import PRODUCTS, ShopSite
from tests.support import wait_until
from trawl.api_commands import bootstrap_tenant
from trawl.client import TrawlClient
from trawl.crawling import follow
from trawl.demo import demo_settings
from trawl.exports import export_and_download

pytestmark = pytest.mark.integration


async def test_a_runs_products_exported_downloaded_and_deleted(settings: Settings, tmp_path: Path) -> None:
    async with ShopSite() as site, public_api(demo_settings(settings)) as (api, wired):
        made = await bootstrap_tenant(wired, "exports", "exports@localhost")
        headers = {"Authorization": f"Bearer {made.key.plaintext}"}
        async with (
            TrawlClient(api, made.key.plaintext) as client,
            httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as http,
        ):
            job = await client.create_job(
                {
                    "name": "shop",
                    "seeds": [site.url("/shop?page=1")],
                    "pagination": {"type": "next_button", "next_selector": "a.next"},
                    "limits": {"max_pages": 50, "max_depth": 3},
                    "exports": [
                        {"dataset": "products", "format": "csv", "options": {"fields": ["name", "sku"]}}
                    ],
                }
            )
            run = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
            assert run["status"] == "completed", run
            products = (await http.get("/v1/products", params={"limit": 100})).json()["products"]
            assert len(products) == len(PRODUCTS)

            # The job's own export, made once the run completed and all its products were in.
            async def made_by_the_job() -> dict[str, Any] | None:
                listed = (await http.get("/v1/exports", params={"run_id": run["id"]})).json()["exports"]
                return listed[0] if listed and listed[0]["status"] == "completed" else None

            automatic = await wait_until(made_by_the_job, within=90, interval=0.5, what="the job's export")
            assert automatic["automatic"] and automatic["note"] is None
            async with httpx.AsyncClient() as anyone:
                link = await http.get(f"/v1/exports/{automatic['id']}/download")
                delivered = (await anyone.get(link.headers["location"])).text
            rows = list(csv.DictReader(io.StringIO(delivered, newline="")))
            assert sorted(row["sku"] for row in rows) == sorted(p["product_data"]["sku"] for p in products)
            assert (await http.delete(f"/v1/exports/{automatic['id']}")).status_code == 204

            asked = await http.post(
                "/v1/exports", json={"run_id": run["id"], "dataset": "products", "format": "parquet"}
            )
            assert asked.status_code == 202, asked.text
            export_id = asked.json()["id"]

            async def completed() -> dict[str, Any] | None:
                found: dict[str, Any] = (await http.get(f"/v1/exports/{export_id}")).json()
                return found if found["status"] == "completed" else None

            done = await wait_until(completed, within=90, interval=0.5, what="the export")
            assert (done["rows"], done["rows_written"], done["progress"]) == (
                len(PRODUCTS),
                len(PRODUCTS),
                100,
            )
            link = await http.get(f"/v1/exports/{export_id}/download")
            assert link.status_code == 302
            async with httpx.AsyncClient() as anyone:
                body = (await anyone.get(link.headers["location"])).content
            table = pq.read_table(io.BytesIO(body))
            assert sorted(table.column("name").to_pylist()) == sorted(p["name"] for p in products)
            listed = (await http.get("/v1/exports")).json()["exports"]
            assert [export["id"] for export in listed] == [export_id]

            # What `trawl export RUN --format csv -o FILE` does: ask, follow, download.
            target = tmp_path / "products.csv"
            await export_and_download(
                client,
                {
                    "run_id": run["id"],
                    "dataset": "products",
                    "format": "csv",
                    "options": {"fields": ["name", "price"]},
                },
                target,
            )
            rows = list(csv.DictReader(io.StringIO(target.read_text(), newline="")))
            assert list(rows[0]) == ["name", "price"] and len(rows) == len(PRODUCTS)

            other = await bootstrap_tenant(wired, "stranger", "stranger@localhost")
            stranger = {"Authorization": f"Bearer {other.key.plaintext}"}
            async with httpx.AsyncClient(base_url=api, headers=stranger, timeout=30) as outsider:
                assert (await outsider.get("/v1/exports")).json()["exports"] == []
                assert (await outsider.get(f"/v1/exports/{export_id}")).status_code == 404
                assert (await outsider.get(f"/v1/exports/{export_id}/download")).status_code == 404
                assert (await outsider.delete(f"/v1/exports/{export_id}")).status_code == 404
                refused = await outsider.post("/v1/exports", json={"run_id": run["id"], "format": "csv"})
                assert refused.status_code == 404
                refused = await outsider.post("/v1/exports", json={"job_id": job["id"], "format": "csv"})
                assert refused.status_code == 404

            assert (await http.delete(f"/v1/exports/{export_id}")).status_code == 204
            assert (await http.get(f"/v1/exports/{export_id}")).status_code == 404

            # The job's products, across its runs.
            of_job = await http.post(
                "/v1/exports", json={"job_id": job["id"], "dataset": "products", "format": "jsonl"}
            )
            assert of_job.status_code == 202, of_job.text
            job_export = of_job.json()["id"]

            async def job_exported() -> dict[str, Any] | None:
                found: dict[str, Any] = (await http.get(f"/v1/exports/{job_export}")).json()
                return found if found["status"] == "completed" else None

            made = await wait_until(job_exported, within=90, interval=0.5, what="the job's export")
            assert (made["scope"], made["rows"]) == ("job", len(PRODUCTS))
            both = await http.post(
                "/v1/exports", json={"job_id": job["id"], "run_id": run["id"], "format": "csv"}
            )
            assert both.status_code == 422
            idle = await client.create_job({"name": "never run", "seeds": [site.url("/")]})
            assert (
                await http.post("/v1/exports", json={"job_id": idle["id"], "format": "csv"})
            ).status_code == 409
            bad = await http.post(
                "/v1/exports", json={"run_id": run["id"], "dataset": "items", "format": "zip"}
            )
            assert bad.status_code == 422


async def test_an_upload_runs_documents_exported_with_their_markdown(
    settings: Settings, tmp_path: Path
) -> None:
    """An upload run has no job (no JobCreated reaches the exporter): its documents export all the same."""
    notes = tmp_path / "notes.md"
    notes.write_text(
        "# Tide tables\n\nHigh water at Ouessant comes **twice a day**, about 12 h 25 min apart.\n"
    )
    page = tmp_path / "keeper.html"
    page.write_text(
        "<html><head><title>The keeper</title></head><body><article><h1>The keeper</h1>"
        + "<p>The last keeper of the Créac'h lighthouse left in 1993, after forty years of watches.</p>" * 3
        + "</article></body></html>"
    )
    async with public_api(demo_settings(settings)) as (api, wired):
        made = await bootstrap_tenant(wired, "uploads", "uploads@localhost")
        async with TrawlClient(api, made.key.plaintext) as client:
            uploaded = await client.upload([notes, page])
            run = await follow(client, uploaded["run"]["id"], wait_seconds=120)
            assert run["status"] == "completed", run
            target = tmp_path / "documents.jsonl"
            await export_and_download(
                client, {"run_id": run["id"], "dataset": "documents", "format": "jsonl"}, target
            )
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert sorted(row["title"] for row in rows) == ["The keeper", "Tide tables"]
    markdown = {row["title"]: row["markdown"] for row in rows}
    assert "twice a day" in markdown["Tide tables"] and "forty years" in markdown["The keeper"]
