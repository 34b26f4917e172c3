"""Exports under faults: the exporter killed (`kill -9`) while it streams a file into a multipart
upload, and S3 cut off mid-export. The first ends with the export completed from a fresh
attempt and a whole file; the second with the export failed with its reason after its
retries; neither leaves a multipart upload behind. S3 is reached through a slow link (a
throttled TCP proxy) so that each fault lands in the second part of the file's upload."""

from __future__ import annotations

import csv
import io
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import pytest

from services.exporter.app import SPEC
from shared.config import Settings
from shared.events import ExportFormat, ItemExtracted, JobCreated
from shared.internal_api import EXPORT_PATH, INTERNAL_TOKEN_HEADER, ExportOut
from shared.producer import publish_direct
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime
from tests.integration.exporter.conftest import Exporter, export_request, item, job_created, new_run
from tests.integration.extractor.processes import free_port, service_process
from tests.support import TcpProxy, consumed_everything, settings_env, wait_until

pytestmark = pytest.mark.integration

ITEMS = 2_500  # about 12 MiB of CSV: three parts of a multipart upload
SLOW_LINK = 3_000_000  # bytes per second to S3
IN_THE_SECOND_PART = 7_000_000  # bytes sent to S3


def _record(number: int) -> dict[str, object]:
    return {"number": number, "title": f"Lot {number}", "notes": f"{number:06d} " + "éclat marin " * 400}


@pytest.fixture
async def slow_s3(settings: Settings) -> AsyncIterator[TcpProxy]:
    endpoint = urlsplit(settings.s3_url)
    proxy = TcpProxy(endpoint.hostname or "127.0.0.1", endpoint.port or 80, bytes_per_second=SLOW_LINK)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.cut()


async def _uploading(objects: ObjectStore, tenant_id: UUID) -> bool:
    """Whether a multipart upload of the tenant's exports is under way."""
    return any([upload async for upload in objects.unfinished_uploads(f"tenants/{tenant_id}/exports/")])


async def _no_upload_left(objects: ObjectStore, tenant_id: UUID) -> bool:
    return not await _uploading(objects, tenant_id)


async def test_an_exporter_killed_mid_upload_completes_the_export_whole(
    settings: Settings, object_store: ObjectStore, slow_s3: TcpProxy, tmp_path: Path
) -> None:
    port = free_port()
    env = settings_env(
        settings,
        TRAWL_S3_ENDPOINT=f"http://127.0.0.1:{slow_s3.port}",
        TRAWL_S3_BUCKET=object_store.bucket,
        TRAWL_HTTP_BASE_PORT=str(port - 4),  # the exporter listens on base + 4
        TRAWL_OUTBOX_POLL_INTERVAL="0.2",
        TRAWL_EXPORTER_POLL_SECONDS="0.1",
        TRAWL_EXPORTER_LEASE_SECONDS="3",
        TRAWL_EXPORTER_SWEEP_SECONDS="1",
        TRAWL_EXPORTER_STALE_UPLOAD_SECONDS="2",
    )
    run = new_run()
    request = export_request(run, ExportFormat.CSV)
    log = tmp_path / "exporter.log"
    headers = {INTERNAL_TOKEN_HEADER: settings.internal_token}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as http:

        async def export_state() -> ExportOut | None:
            reply = await http.get(
                EXPORT_PATH.format(export_id=request.export_id), params={"tenant_id": str(run.tenant_id)}
            )
            return None if reply.status_code == 404 else ExportOut.model_validate_json(reply.content)

        with service_process("exporter", env, log) as first:
            await publish_direct(settings, [job_created(run), *(item(run, _record(n)) for n in range(ITEMS))])
            await consumed_everything(settings, "exporter", [JobCreated, ItemExtracted], within=120)
            await publish_direct(settings, [request])
            await wait_until(
                lambda: slow_s3.sent > IN_THE_SECOND_PART,
                within=60,
                interval=0.02,
                what="the file's second part on its way",
            )
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            assert await _uploading(object_store, run.tenant_id)  # a half-done upload, left behind

        with service_process("exporter", env, log):

            async def ended() -> ExportOut | None:
                try:
                    found = await export_state()
                except httpx.TransportError:
                    return None  # still starting
                return found if found is not None and found.status in ("completed", "failed") else None

            done = await wait_until(ended, within=120, interval=0.3, what="the export taken up again")
            assert (done.status, done.attempts, done.rows) == ("completed", 2, ITEMS), done
            await wait_until(
                lambda: _no_upload_left(object_store, run.tenant_id),
                within=30,
                interval=0.5,
                what="the killed attempt's upload aborted by the sweeper",
            )
    assert done.filename is not None
    key = f"tenants/{run.tenant_id}/exports/{done.id}/{done.filename}"
    rows = list(csv.DictReader(io.StringIO((await object_store.get(key)).decode())))
    assert [int(row["number"]) for row in rows] == list(range(ITEMS))
    assert rows[-1]["notes"] == _record(ITEMS - 1)["notes"]


async def test_s3_cut_off_mid_export_fails_it_with_its_reason_and_leaves_no_upload(
    settings: Settings, object_store: ObjectStore, slow_s3: TcpProxy
) -> None:
    quick = settings.model_copy(
        update={
            "s3_endpoint": f"http://127.0.0.1:{slow_s3.port}",
            "s3_bucket": object_store.bucket,
            "outbox_poll_interval": 0.2,
            "exporter_poll_seconds": 0.1,
            "exporter_retry_seconds": 0.5,
            "exporter_max_attempts": 2,
            "exporter_sweep_seconds": 1.0,
            "exporter_stale_upload_seconds": 1.0,
        }
    )
    runtime = ServiceRuntime(SPEC, quick, http_port=0)
    await runtime.start()
    try:
        assert runtime.http is not None
        headers = {INTERNAL_TOKEN_HEADER: quick.internal_token}
        async with httpx.AsyncClient(base_url=runtime.http.url, headers=headers, timeout=30) as http:
            exporter = Exporter(runtime, quick, http)
            run = await exporter.start_run()
            await exporter.publish(*(item(run, _record(number)) for number in range(ITEMS)))
            await exporter.settle()
            request = export_request(run, ExportFormat.JSONL)
            await exporter.publish(request)
            await wait_until(
                lambda: slow_s3.sent > IN_THE_SECOND_PART,
                within=60,
                interval=0.02,
                what="the file's second part on its way",
            )
            await slow_s3.cut()
            assert await _uploading(object_store, run.tenant_id)
            failed = await exporter.finished(run, request.export_id, within=120)
            assert (failed.status, failed.attempts) == ("failed", 2), failed
            assert "failed 2 times" in (failed.error_message or "")
            await slow_s3.restore()
            await wait_until(
                lambda: _no_upload_left(object_store, run.tenant_id),
                within=30,
                interval=0.5,
                what="no multipart upload left once S3 answers again",
            )
            link = await exporter.link(run.tenant_id, request.export_id)
            assert (link.state, link.url) == ("not_ready", None)
    finally:
        await runtime.stop()
