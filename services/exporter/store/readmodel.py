"""The exporter's read model, from events only: items, documents, images and their verdicts,
LLM outputs, and what has arrived of each run against what its completion announced.

Rows are kept whatever order a run's events come in (a page's items may be read before the
run's JobCreated, and upload runs have none), except for a deleted run: its rows go, and none
are added after. Writers hold a shared advisory lock on the run and deletion an exclusive one,
so a row added while its run is deleted is either seen by the deletion or sees the deletion.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Connection
from shared.events import ChunkIndexed, ImageStored, ImagesValidated, ItemExtracted, LlmTaskCompleted

Record = Any  # an asyncpg Record: read by column name


def _run_kept(run: str = "$2", tenant: str = "$3") -> str:
    """The condition that the run (its id and tenant are these parameters) was not deleted."""
    return f"""NOT EXISTS (SELECT 1 FROM run_fates
                            WHERE run_id = {run} AND tenant_id = {tenant} AND fate = 'deleted')"""


# The advisory-lock space of runs (the second key is the run id's hash; a collision only waits).
_RUN_LOCKS = 7_340_001
_TENANT_ROW_TABLES = (
    "export_items",
    "export_documents",
    "export_images",
    "export_llm_outputs",
    "export_run_arrivals",
)


async def _hold_run(conn: Connection, run_id: UUID, *, exclusive: bool = False) -> None:
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await conn.execute(f"SELECT {function}($1, hashtext($2::uuid::text))", _RUN_LOCKS, run_id)


async def add_item(conn: Connection, item: ItemExtracted) -> bool:
    """False when the run was deleted or the item was stored. A revision (a record an LLM
    completed) replaces the item's data in place, keeping its row."""
    await _hold_run(conn, item.run_id)
    inserted = await conn.fetchval(
        f"""INSERT INTO export_items
                  (item_id, run_id, tenant_id, kind, data, content_hash, confidence, source_url,
                   job_id, document_id, product_hash, brand_name, changed, valid, kept, errors)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
            WHERE {_run_kept()}
           ON CONFLICT (item_id) DO UPDATE
              SET data = EXCLUDED.data, confidence = EXCLUDED.confidence, valid = EXCLUDED.valid,
                  kept = EXCLUDED.kept, errors = EXCLUDED.errors
            WHERE $17::boolean
           RETURNING true""",
        item.item_id,
        item.run_id,
        item.tenant_id,
        item.kind.value,
        item.data,
        item.content_hash,
        item.confidence,
        item.source_url,
        item.job_id,
        item.document_id,
        item.product_hash,
        item.brand_name,
        item.changed,
        item.valid,
        item.kept,
        item.errors,
        item.revises,
    )
    return bool(inserted)


async def add_document(conn: Connection, event: ChunkIndexed) -> bool:
    """The document, once; every ChunkIndexed is counted as arrived (as ingest counts them)."""
    await _hold_run(conn, event.run_id)
    await conn.execute(
        f"""INSERT INTO export_run_arrivals (run_id, tenant_id, chunk_indexed)
           SELECT $1, $2, 1 WHERE {_run_kept("$1", "$2")}
           ON CONFLICT (run_id) DO UPDATE SET chunk_indexed = export_run_arrivals.chunk_indexed + 1""",
        event.run_id,
        event.tenant_id,
    )
    inserted = await conn.fetchval(
        f"""INSERT INTO export_documents
                  (document_id, run_id, tenant_id, job_id, url, title, document_type, metadata,
                   markdown_key, chunk_count, skipped, items_found, indexed_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13
            WHERE {_run_kept()}
           ON CONFLICT (run_id, document_id) DO NOTHING RETURNING true""",
        event.document_id,
        event.run_id,
        event.tenant_id,
        event.job_id,
        event.url,
        event.title,
        event.document_type,
        event.metadata,
        event.markdown_key,
        event.chunk_count,
        event.skipped,
        event.items_found,
        event.indexed_at,
    )
    return bool(inserted)


async def add_image(conn: Connection, image: ImageStored) -> bool:
    await _hold_run(conn, image.run_id)
    inserted = await conn.fetchval(
        f"""INSERT INTO export_images
                  (image_key, run_id, tenant_id, job_id, url, page_url, alt_text, label, width, height,
                   format, bytes, sha256, phash, exif_orientation, decode_error, s3_key, thumbnail_key,
                   provenance, stored_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20
            WHERE {_run_kept()}
           ON CONFLICT (run_id, image_key) DO NOTHING RETURNING true""",
        image.image_key,
        image.run_id,
        image.tenant_id,
        image.job_id,
        image.url,
        image.page_url,
        image.alt_text,
        image.label,
        image.width,
        image.height,
        image.format,
        image.bytes,
        image.sha256,
        image.phash,
        image.exif_orientation,
        image.decode_error,
        image.s3_key,
        image.thumbnail_key,
        image.provenance,
        image.stored_at,
    )
    return bool(inserted)


async def add_verdicts(conn: Connection, event: ImagesValidated) -> None:
    await _hold_run(conn, event.run_id)
    if await run_deleted(conn, tenant_id=event.tenant_id, run_id=event.run_id):
        return
    await conn.executemany(
        """INSERT INTO export_image_verdicts (run_id, image_key, validation_id, valid, reasons, duplicate_of)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (run_id, image_key, validation_id) DO NOTHING""",
        [
            (event.run_id, v.image_key, event.validation_id, v.valid, v.reasons, v.duplicate_of)
            for v in event.verdicts
        ],
    )


async def add_llm_output(conn: Connection, event: LlmTaskCompleted) -> None:
    """A task completed again (retried) replaces its earlier output."""
    await _hold_run(conn, event.run_id)
    await conn.execute(
        f"""INSERT INTO export_llm_outputs
                  (task_id, run_id, tenant_id, job_id, session_id, kind, query_name, model, document_id,
                   product_hash, s3_output_path, output, prompt_tokens, completion_tokens, cached,
                   completed_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
            WHERE {_run_kept()}
           ON CONFLICT (run_id, task_id) DO UPDATE
              SET model = EXCLUDED.model, s3_output_path = EXCLUDED.s3_output_path,
                  output = EXCLUDED.output, prompt_tokens = EXCLUDED.prompt_tokens,
                  completion_tokens = EXCLUDED.completion_tokens, cached = EXCLUDED.cached,
                  completed_at = EXCLUDED.completed_at""",
        event.task_id,
        event.run_id,
        event.tenant_id,
        event.job_id,
        event.session_id,
        event.kind,
        event.query_name,
        event.model,
        event.document_id,
        event.product_hash,
        event.s3_output_path,
        event.output,
        event.prompt_tokens,
        event.completion_tokens,
        event.cached,
        event.completed_at,
    )


async def run_deleted(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> bool:
    deleted = await conn.fetchval(
        "SELECT true FROM run_fates WHERE run_id = $1 AND tenant_id = $2 AND fate = 'deleted'",
        run_id,
        tenant_id,
    )
    return bool(deleted)


async def hold_run_for_deletion(conn: Connection, *, run_id: UUID) -> None:
    """Waits for the transactions adding rows to the run; none starts until this one ends."""
    await _hold_run(conn, run_id, exclusive=True)


async def delete_run_rows(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> None:
    for table in _TENANT_ROW_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id)
    # Verdicts name images by run (run ids are unique across tenants).
    await conn.execute("DELETE FROM export_image_verdicts WHERE run_id = $1", run_id)
