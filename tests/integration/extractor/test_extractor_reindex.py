"""`trawl reindex`: a new collection built from Postgres while searches keep answering, a
`kill -9` in the middle that the restarted extractor resumes from, pages arriving meanwhile
in the new collection too, and then the switch."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from typer.testing import CliRunner

from services.extractor.app import SPEC
from shared.config import Settings
from shared.db import create_pool
from shared.internal_api import INTERNAL_TOKEN_HEADER, REINDEX_PATH
from shared.producer import publish_direct
from shared.s3 import ObjectStore
from shared.search_api import INTERNAL_SEARCH_PATH
from tests.integration.extractor.conftest import stored_page
from tests.integration.extractor.processes import article, extractor_process, process_env
from tests.support import prepare, wait_until
from trawl.cli import app

pytestmark = pytest.mark.integration

PAGES = 30


class Prober:
    """Searches every 100 ms and counts the answers that failed or came back empty."""

    def __init__(self, client: httpx.AsyncClient, tenant: UUID) -> None:
        self.client, self.tenant = client, tenant
        self.answered = self.failed = 0
        self.stopped = False

    async def run(self) -> None:
        while not self.stopped:
            try:
                answer = await self.client.post(
                    INTERNAL_SEARCH_PATH,
                    json={
                        "tenant_id": str(self.tenant),
                        "query": "barometer reading at the station",
                        "mode": "vector",
                    },
                )
                ok = answer.status_code == 200 and bool(answer.json()["hits"])
            except httpx.HTTPError:
                ok = False
            self.answered += ok
            self.failed += not ok
            await asyncio.sleep(0.1)


async def test_a_reindex_killed_midway_resumes_switches_and_never_stops_searches(
    extractor_settings: Settings, object_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = extractor_settings.model_copy(
        update={"qdrant_path": str(tmp_path / "vectors"), "index_batch_chunks": 64, "reindex_page_chunks": 8}
    )
    env = process_env(settings)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    await prepare(settings, "extractor", SPEC.migrations_dir)
    tenant, run, job = uuid4(), uuid4(), uuid4()

    async def pages(numbers: range) -> None:
        stored = [
            await stored_page(
                object_store,
                article(n),
                tenant_id=tenant,
                run_id=run,
                job_id=job,
                url=f"https://r.example/{n}",
            )
            for n in numbers
        ]
        await publish_direct(settings, list(stored), source="test")

    await pages(range(PAGES))
    pool = await create_pool(settings, "extractor")
    client = httpx.AsyncClient(
        base_url=env["TRAWL_EXTRACTOR_INTERNAL_URL"],
        headers={INTERNAL_TOKEN_HEADER: settings.internal_token},
        timeout=10,
    )

    async def indexed(count: int) -> bool:
        done: int = await pool.fetchval("SELECT count(*) FROM documents WHERE status = 'indexed'")
        return done == count

    async def answering() -> bool:
        try:
            return (await client.get(REINDEX_PATH)).status_code == 200
        except httpx.TransportError:
            return False

    async def status() -> dict[str, object]:
        answer: dict[str, object] = (await client.get(REINDEX_PATH)).json()
        return answer

    try:
        with extractor_process(env, tmp_path / "extractor.log") as first:
            await wait_until(lambda: indexed(PAGES), within=240, what="the first pages indexed")
            live = (await status())["collection"]
            started = await client.post(REINDEX_PATH, json={"reembed": True})
            assert started.status_code == 200, started.text
            building = started.json()["collection"]
            refused = await client.post(REINDEX_PATH, json={})
            assert refused.status_code == 409 and "under way" in refused.json()["detail"]

            async def copying_midway() -> bool:
                now = await status()
                return now["phase"] == "copying" and 0 < int(str(now["copied"])) < int(str(now["total"])) // 2

            await wait_until(copying_midway, within=120, interval=0.02, what="the reindex copying")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)

        with extractor_process(env, tmp_path / "extractor.log"):
            await wait_until(answering, within=60, what="the extractor back")
            prober = Prober(client, tenant)
            probing = asyncio.create_task(prober.run())
            await pages(range(PAGES, PAGES + 5))  # arriving while the reindex goes on

            async def switched() -> bool:
                now = await status()
                return now["collection"] == building and now["state"] == "active"

            await wait_until(switched, within=300, interval=0.2, what="the reindex switched")
            await wait_until(lambda: indexed(PAGES + 5), within=120, what="the late pages indexed")
            prober.stopped = True
            await probing

            async def old_one_dropped() -> bool:  # after a grace for other replicas
                return await pool.fetchval("SELECT count(*) FROM vector_collections") == 1

            await wait_until(old_one_dropped, within=60, what="the old collection dropped")
            runner = CliRunner()
            report = await asyncio.to_thread(runner.invoke, app, ["reconcile"])
            followed = await asyncio.to_thread(runner.invoke, app, ["reindex", "--run", str(run)])
        chunks = await pool.fetchval("SELECT count(*) FROM chunks")
        collections = await pool.fetch("SELECT name, state FROM vector_collections")
    finally:
        await client.aclose()
        await pool.close()
    assert prober.failed == 0 and prober.answered > 10, (prober.answered, prober.failed)
    assert report.exit_code == 0, report.output
    assert f"chunks {chunks}, points {chunks}: 0 missing point(s), 0 orphan point(s)" in report.output
    assert followed.exit_code == 0, followed.output
    assert [(row["name"], row["state"]) for row in collections] == [(building, "active")]
    assert not (tmp_path / "vectors" / str(live)).exists()
    assert (tmp_path / "vectors" / building).is_dir()
