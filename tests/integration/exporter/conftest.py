"""The real exporter (Kafka, PostgreSQL, S3) fed events as its producers send them, and asked
for exports the way ingest asks: ExportRequested on Kafka, then its internal HTTP."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from services.exporter.app import SPEC
from shared.config import Settings
from shared.events import (
    ChunkIndexed,
    Event,
    ExportDataset,
    ExportFormat,
    ExportOptions,
    ExportRequested,
    ExtractorSchemaRef,
    ImageStored,
    ImagesValidated,
    ItemExtracted,
    ItemKind,
    JobConfig,
    JobCreated,
    LlmTaskCompleted,
    RunCompleted,
    RunDeleted,
    RunExport,
    RunStatus,
)
from shared.internal_api import EXPORT_LINK_PATH, EXPORT_PATH, INTERNAL_TOKEN_HEADER, ExportLink, ExportOut
from shared.producer import publish_direct
from shared.s3 import ObjectStore, tenant_key
from shared.service import ServiceRuntime
from tests.support import consumed_everything, wait_until

FINISHED = ("completed", "failed")


@dataclass
class Run:
    tenant_id: UUID
    run_id: UUID
    job_id: UUID


@dataclass
class Exporter:
    runtime: ServiceRuntime
    settings: Settings
    http: httpx.AsyncClient

    @property
    def objects(self) -> ObjectStore:
        assert self.runtime.objects is not None
        return self.runtime.objects

    async def publish(self, *events: Event) -> None:
        await publish_direct(self.settings, list(events))

    async def start_run(
        self, schema: dict[str, Any] | None = None, *, exports: list[RunExport] | None = None
    ) -> Run:
        run = new_run()
        await self.announce(run, schema, exports=exports)
        await consumed_everything(self.settings, "exporter", [JobCreated])
        return run

    async def announce(
        self, run: Run, schema: dict[str, Any] | None = None, *, exports: list[RunExport] | None = None
    ) -> None:
        """The run's JobCreated."""
        await self.publish(job_created(run, schema, exports=exports))

    async def settle(self) -> None:
        """Until the exporter has taken in every event of its read model sent so far."""
        await consumed_everything(
            self.settings,
            "exporter",
            [
                JobCreated,
                ItemExtracted,
                ChunkIndexed,
                ImageStored,
                ImagesValidated,
                LlmTaskCompleted,
                RunCompleted,
                RunDeleted,
            ],
        )

    async def export(
        self,
        run: Run,
        format: ExportFormat,
        dataset: ExportDataset = ExportDataset.ITEMS,
        *,
        link_ttl_seconds: int = 3600,
        within: float = 60,
        **options: Any,
    ) -> ExportOut:
        """Asks for an export and waits until it ends."""
        request = export_request(run, format, dataset, link_ttl_seconds=link_ttl_seconds, **options)
        await self.publish(request)
        return await self.finished(run, request.export_id, within=within)

    async def finished(self, run: Run, export_id: UUID, *, within: float = 60) -> ExportOut:
        """The export once it has ended."""

        async def ended() -> ExportOut | None:
            found = await self.get(run.tenant_id, export_id)
            return found if found is not None and found.status in FINISHED else None

        done: ExportOut = await wait_until(ended, within=within, what=f"export {export_id}")
        return done

    async def get(self, tenant_id: UUID, export_id: UUID) -> ExportOut | None:
        reply = await self.http.get(
            EXPORT_PATH.format(export_id=export_id), params={"tenant_id": str(tenant_id)}
        )
        return (
            None
            if reply.status_code == 404
            else ExportOut.model_validate_json(reply.raise_for_status().content)
        )

    async def link(self, tenant_id: UUID, export_id: UUID, *, file: int = 0) -> ExportLink:
        reply = await self.http.get(
            EXPORT_LINK_PATH.format(export_id=export_id), params={"tenant_id": str(tenant_id), "file": file}
        )
        return ExportLink.model_validate_json(reply.raise_for_status().content)

    async def download(self, run: Run, export: ExportOut, *, file: int = 0) -> bytes:
        assert export.status == "completed", export
        link = await self.link(run.tenant_id, export.id, file=file)
        assert link.url is not None
        async with httpx.AsyncClient() as plain:
            reply = await plain.get(link.url)
        assert reply.status_code == 200, reply.text
        return reply.content


@pytest.fixture
async def exporter(settings: Settings, object_store: ObjectStore) -> AsyncIterator[Exporter]:
    quick = settings.model_copy(
        update={
            "s3_bucket": object_store.bucket,
            "outbox_poll_interval": 0.2,
            "exporter_poll_seconds": 0.1,
            "exporter_retry_seconds": 0.2,
            "exporter_sweep_seconds": 1.0,
            "handler_backoff_initial": 0.05,
        }
    )
    runtime = ServiceRuntime(SPEC, quick, http_port=0)
    await runtime.start()
    assert runtime.http is not None
    headers = {INTERNAL_TOKEN_HEADER: quick.internal_token}
    try:
        async with httpx.AsyncClient(base_url=runtime.http.url, headers=headers, timeout=30) as http:
            yield Exporter(runtime, quick, http)
    finally:
        await runtime.stop()


def new_run() -> Run:
    return Run(uuid4(), uuid4(), uuid4())


def job_created(
    run: Run, schema: dict[str, Any] | None = None, *, exports: list[RunExport] | None = None
) -> JobCreated:
    config = JobConfig(
        name="export test",
        seeds=["https://shop.example/"],
        extractor_schema=None if schema is None else ExtractorSchemaRef(schema_id=uuid4(), definition=schema),
        exports=exports or [],
    )
    return JobCreated(
        tenant_id=run.tenant_id,
        job_id=run.job_id,
        run_id=run.run_id,
        config=config,
        created_at=datetime.now(UTC),
    )


def export_request(
    run: Run,
    format: ExportFormat,
    dataset: ExportDataset = ExportDataset.ITEMS,
    *,
    link_ttl_seconds: int = 3600,
    **options: Any,
) -> ExportRequested:
    return ExportRequested(
        tenant_id=run.tenant_id,
        export_id=uuid4(),
        run_id=run.run_id,
        job_id=run.job_id,
        format=format,
        dataset=dataset,
        options=ExportOptions(**options),
        link_ttl_seconds=link_ttl_seconds,
        requested_at=datetime.now(UTC),
    )


def item(run: Run, data: dict[str, Any], **fields: Any) -> ItemExtracted:
    return ItemExtracted(
        tenant_id=run.tenant_id,
        job_id=run.job_id,
        run_id=run.run_id,
        item_id=uuid4(),
        kind=fields.pop("kind", ItemKind.SCHEMA_RESULT),
        data=data,
        content_hash=uuid4().hex,
        source_url=fields.pop("source_url", f"https://shop.example/{uuid4().hex[:6]}"),
        **fields,
    )


async def document(exporter: Exporter, run: Run, url: str, title: str, markdown: str) -> ChunkIndexed:
    key = tenant_key(run.tenant_id, "markdown", uuid4().hex)
    await exporter.objects.put(
        key, gzip.compress(markdown.encode()), content_type="text/markdown", gzipped=True
    )
    return ChunkIndexed(
        tenant_id=run.tenant_id,
        job_id=run.job_id,
        run_id=run.run_id,
        document_id=uuid4(),
        url=url,
        chunk_count=1,
        embedding_model="test",
        indexed_at=datetime.now(UTC),
        title=title,
        document_type="web_page",
        markdown_key=key,
        metadata={"language": "fr", "author": {"name": "Zoë"}},
    )


async def image(
    exporter: Exporter, run: Run, name: str, body: bytes, image_format: str = "png"
) -> ImageStored:
    key = tenant_key(run.tenant_id, "images", uuid4().hex)
    await exporter.objects.put(key, body, content_type=f"image/{image_format}")
    return ImageStored(
        tenant_id=run.tenant_id,
        job_id=run.job_id,
        run_id=run.run_id,
        image_key=name,
        url=f"https://shop.example/{name}.{image_format}",
        page_url="https://shop.example/gallery",
        alt_text=f"picture {name}",
        label="lighthouse",
        width=10,
        height=20,
        format=image_format,
        bytes=len(body),
        sha256=uuid4().hex,
        phash=None,
        exif_orientation=None,
        decode_error=None,
        s3_key=key,
        thumbnail_key=None,
        stored_at=datetime.now(UTC),
    )


def llm_output(
    run: Run, *, output: dict[str, Any] | None, s3_output_path: str, **fields: Any
) -> LlmTaskCompleted:
    return LlmTaskCompleted(
        tenant_id=run.tenant_id,
        job_id=run.job_id,
        run_id=run.run_id,
        task_id=fields.pop("task_id", uuid4()),
        session_id=run.run_id,
        model="gpt-test",
        s3_output_path=s3_output_path,
        prompt_tokens=120,
        completion_tokens=30,
        completed_at=datetime.now(UTC),
        kind="query",
        output=output,
        **fields,
    )


def run_completed(run: Run, service: str, **counters: int) -> RunCompleted:
    return RunCompleted.now(
        service=service,
        tenant_id=run.tenant_id,
        job_id=run.job_id,
        run_id=run.run_id,
        status=RunStatus.COMPLETED,
        counters=counters,
    )


def run_deleted(run: Run) -> RunDeleted:
    return RunDeleted(
        tenant_id=run.tenant_id, job_id=run.job_id, run_id=run.run_id, deleted_at=datetime.now(UTC)
    )
