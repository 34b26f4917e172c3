"""Taking in one stored page or upload: read, extract, chunk, write document + chunks + outcome.

Runs inside the consumer's unit of work (state and outbox together). Every document taken in
owes exactly one outcome event: ChunkIndexed at once when there is nothing to index (with the
reason in `skipped`), later from the indexer once its chunks are in the vector index, or a
TaskFailed when the document itself is at fault (too large, broken).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from services.extractor import metrics, store
from services.extractor.commands.items import Page, reannounce_items, store_items
from services.extractor.domain.documents import DocumentError
from services.extractor.domain.items import ItemsPlan
from services.extractor.domain.outcomes import DocumentSummary, chunk_indexed
from services.extractor.pipeline import Pipeline, Processed
from shared import runs
from shared.events import TaskFailed
from shared.s3 import ObjectNotFoundError, ObjectStore, content_key, tenant_key
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source(Page):
    """What PageFetched and DocumentUploaded have in common."""

    source_type: str
    name: str | None
    content_type: str
    s3_key: str
    size: int
    unchanged: bool = False


async def take_in(uow: UnitOfWork, pipeline: Pipeline, objects: ObjectStore, source: Source) -> None:
    conn = uow.conn
    if await store.run_is_deleted(conn, tenant_id=source.tenant_id, run_id=source.run_id):
        log.info("run %s was deleted; page not indexed", source.run_id)
        return
    if await store.document_exists(conn, tenant_id=source.tenant_id, document_id=source.document_id):
        # The same page published again in the same run (another event, not a redelivery of the
        # first: the inbox drops those). Each publication is counted by ingest, so each gets an
        # answer; the page is not indexed twice.
        log.info("document %s already taken in; answered as repeated", source.document_id)
        await uow.outbox.publish(
            chunk_indexed(
                source,
                chunk_count=0,
                embedding_model=pipeline.embedder.model_name,
                indexed_at=datetime.now(UTC),
                skipped="repeated",
            )
        )
        return
    document = store.NewDocument(
        id=source.document_id,
        tenant_id=source.tenant_id,
        job_id=source.job_id,
        run_id=source.run_id,
        source_type=source.source_type,
        url=source.url,
        url_hash=source.url_hash,
        content_hash=source.content_hash,
        s3_key=source.s3_key,
        document_type="unknown",
    )
    plan = ItemsPlan.of(await runs.run_config(conn, run_id=source.run_id, tenant_id=source.tenant_id))
    if source.unchanged or await _seen_in_job(uow, source):
        items_found, items_extracted = await reannounce_items(uow, source, plan)
        document = replace(document, items_found=items_found, items_extracted=items_extracted)
        await _skip(uow, pipeline, source, document, "unchanged")
        return
    try:
        result = await _extract(pipeline, objects, source, plan)
    except DocumentError as exc:
        await _fail(uow, source, document, str(exc))
        return
    if result is None:
        await _skip(uow, pipeline, source, document, "not_text")
        return
    extracted, chunks = result.document, result.chunks
    items_found, items_extracted = result.items.counts(plan)
    document = replace(
        document,
        document_type=extracted.document_type.value,
        title=extracted.title[:1000],
        metadata=extracted.metadata | {"filename": source.name} if source.name else extracted.metadata,
        items_found=items_found,
        items_extracted=items_extracted,
    )
    if not chunks:
        await _skip(uow, pipeline, source, document, "no_text")
        await store_items(uow, source, result.items, plan, extracted.metadata, markdown_key=None)
        return
    # The Markdown before the row that points at it (content-addressed: a retry rewrites it).
    markdown_key = content_key(result.markdown_sha256, tenant_key(source.tenant_id, "markdown"))
    await objects.put(markdown_key, result.markdown_gzip, content_type="text/markdown", gzipped=True)
    document = replace(document, markdown_key=markdown_key)
    await store.insert_document(conn, document, chunks)
    await store_items(uow, source, result.items, plan, extracted.metadata, markdown_key=markdown_key)
    metrics.DOCUMENTS.labels(document.document_type, "indexing").inc()
    metrics.CHUNKS.labels(document.document_type).inc(len(chunks))


async def _seen_in_job(uow: UnitOfWork, source: Source) -> bool:
    if source.job_id is None or source.url_hash is None:
        return False
    return await store.unchanged_in_job(
        uow.conn,
        tenant_id=source.tenant_id,
        job_id=source.job_id,
        url_hash=source.url_hash,
        content_hash=source.content_hash,
    )


async def _extract(
    pipeline: Pipeline, objects: ObjectStore, source: Source, plan: ItemsPlan
) -> Processed | None:
    limit = pipeline.settings.extractor_max_document_bytes
    if source.size > limit:
        raise DocumentError(f"document of {source.size:,} bytes exceeds the limit of {limit:,}")
    try:
        data = await objects.get(source.s3_key)
    except ObjectNotFoundError as exc:
        raise DocumentError(f"stored object {source.s3_key} is missing") from exc
    try:
        return await asyncio.to_thread(
            pipeline.process, data, source.content_type, url=source.url, name=source.name, plan=plan
        )
    except DocumentError:
        raise
    except Exception as exc:
        # Extraction is a function of the bytes: a parser failing on them fails the same way
        # on every retry, so it is this document's error, not the consumer's.
        log.exception("extraction of %s failed", source.s3_key)
        raise DocumentError(f"extraction failed: {type(exc).__name__}: {exc}") from exc


async def _skip(
    uow: UnitOfWork, pipeline: Pipeline, source: Source, document: store.NewDocument, reason: str
) -> None:
    await store.insert_document(uow.conn, replace(document, status="skipped", skipped=reason))
    metrics.DOCUMENTS.labels(document.document_type, reason).inc()
    await uow.outbox.publish(
        chunk_indexed(
            source,
            chunk_count=0,
            embedding_model=pipeline.embedder.model_name,
            indexed_at=datetime.now(UTC),
            skipped=reason,
            summary=_summary(document),
        )
    )


async def _fail(uow: UnitOfWork, source: Source, document: store.NewDocument, error: str) -> None:
    log.warning("document %s not extracted: %s", source.document_id, error)
    await store.insert_document(uow.conn, replace(document, status="failed", error_message=error[:4000]))
    metrics.DOCUMENTS.labels(document.document_type, "failed").inc()
    ids = {"document_id": str(source.document_id), "s3_key": source.s3_key}
    if source.url_hash:
        ids["url_hash"] = source.url_hash
    await uow.outbox.publish(
        TaskFailed.now(
            service=uow.service,
            tenant_id=source.tenant_id,
            task_kind="extract",
            job_id=source.job_id,
            run_id=source.run_id,
            ids=ids,
            error=error,
            attempts=1,
        )
    )


def _summary(document: store.NewDocument) -> DocumentSummary:
    return DocumentSummary(
        title=document.title or None,
        document_type=document.document_type,
        markdown_key=document.markdown_key,
        metadata=document.metadata or {},
        items_found=document.items_found,
        items_extracted=document.items_extracted,
    )
