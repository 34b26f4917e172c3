"""The exporter's read model, from events only: items, documents, images and their verdicts.

Rows are added only for runs this service knows (JobCreated seen, not deleted); they go with
their run (ON DELETE CASCADE from run_configs). Exports read them in keyset pages, up to the
`until` position taken when the export started, so every pass over a dataset sees the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from shared.db import Connection
from shared.events import ChunkIndexed, ImageStored, ImagesValidated, ItemExtracted

Record = Any  # an asyncpg Record: read by column name

_RUN_KNOWN = "EXISTS (SELECT 1 FROM run_configs WHERE run_id = $2 AND tenant_id = $3)"


async def add_item(conn: Connection, item: ItemExtracted) -> bool:
    """False when the run is unknown here (deleted, or never announced) or the item was stored.
    A revision (a record an LLM completed) replaces the item's data in place, keeping its row."""
    inserted = await conn.fetchval(
        f"""INSERT INTO export_items
                  (item_id, run_id, tenant_id, kind, data, content_hash, confidence, source_url,
                   job_id, document_id, product_hash, brand_name, changed, valid, kept, errors)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
            WHERE {_RUN_KNOWN}
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
    inserted = await conn.fetchval(
        f"""INSERT INTO export_documents
                  (document_id, run_id, tenant_id, job_id, url, title, document_type, metadata,
                   markdown_key, chunk_count, skipped, items_found, indexed_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13
            WHERE {_RUN_KNOWN}
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
    inserted = await conn.fetchval(
        f"""INSERT INTO export_images
                  (image_key, run_id, tenant_id, job_id, url, page_url, alt_text, label, width, height,
                   format, bytes, sha256, phash, exif_orientation, decode_error, s3_key, thumbnail_key,
                   provenance, stored_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20
            WHERE {_RUN_KNOWN}
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
    known = await conn.fetchval(
        "SELECT true FROM run_configs WHERE run_id = $1 AND tenant_id = $2", event.run_id, event.tenant_id
    )
    if not known:
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


# -- reading, for exports --------------------------------------------------------------------

# Which items: kept ones; valid=true: kept and not invalid; valid=false: invalid, kept or not.
_ITEM_FILTER = """run_id = $1 AND tenant_id = $2 AND seq <= $3
       AND ($4::text IS NULL OR kind = $4)
       AND ($5::float8 IS NULL OR confidence >= $5)
       AND CASE WHEN $6::boolean IS NULL THEN kept
                WHEN $6 THEN kept AND valid IS NOT FALSE
                ELSE valid IS FALSE OR NOT kept END"""

_ITEM_COLUMNS = """item_id, kind, data, confidence, source_url, valid, kept, errors, product_hash, changed,
       brand_name, document_id, received_at, seq"""


async def last_position(conn: Connection, table: str, *, tenant_id: UUID, run_id: UUID) -> int:
    """Where a run's rows end now; `table` is one of this module's own."""
    assert table in ("export_items", "export_documents", "export_images")
    position: int = await conn.fetchval(
        f"SELECT coalesce(max(seq), 0) FROM {table} WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
    )
    return position


async def count_items(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    until: int,
    kind: str | None,
    min_confidence: float | None,
    valid: bool | None,
    products: bool,
) -> int:
    counted = "count(DISTINCT coalesce(product_hash, item_id::text))" if products else "count(*)"
    total: int = await conn.fetchval(
        f"SELECT {counted} FROM export_items WHERE {_ITEM_FILTER}",
        run_id,
        tenant_id,
        until,
        "product" if products else kind,
        min_confidence,
        valid,
    )
    return total


async def items_page(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    until: int,
    after: int,
    limit: int,
    kind: str | None,
    min_confidence: float | None,
    valid: bool | None,
) -> Sequence[Record]:
    return await conn.fetch(
        f"""SELECT {_ITEM_COLUMNS} FROM export_items
             WHERE {_ITEM_FILTER} AND seq > $7
             ORDER BY seq LIMIT $8""",
        run_id,
        tenant_id,
        until,
        kind,
        min_confidence,
        valid,
        after,
        limit,
    )


async def products_page(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    until: int,
    after: str,
    limit: int,
    min_confidence: float | None,
    valid: bool | None,
) -> Sequence[Record]:
    """The latest item of each product the run saw, in order of its identity (`identity` is the
    key of the next page)."""
    return await conn.fetch(
        f"""SELECT DISTINCT ON (identity) *
              FROM (SELECT {_ITEM_COLUMNS}, coalesce(product_hash, item_id::text) AS identity
                      FROM export_items
                     WHERE {_ITEM_FILTER}) AS products
             WHERE identity > $7
             ORDER BY identity, seq DESC LIMIT $8""",
        run_id,
        tenant_id,
        until,
        "product",
        min_confidence,
        valid,
        after,
        limit,
    )


async def count_documents(conn: Connection, *, tenant_id: UUID, run_id: UUID, until: int) -> int:
    total: int = await conn.fetchval(
        "SELECT count(*) FROM export_documents WHERE run_id = $1 AND tenant_id = $2 AND seq <= $3",
        run_id,
        tenant_id,
        until,
    )
    return total


async def documents_page(
    conn: Connection, *, tenant_id: UUID, run_id: UUID, until: int, after: int, limit: int
) -> Sequence[Record]:
    return await conn.fetch(
        """SELECT * FROM export_documents
            WHERE run_id = $1 AND tenant_id = $2 AND seq <= $3 AND seq > $4
            ORDER BY seq LIMIT $5""",
        run_id,
        tenant_id,
        until,
        after,
        limit,
    )


# An image's verdict is the latest of its validations.
_IMAGES_WITH_VERDICTS = """
    SELECT i.*, v.valid, coalesce(v.reasons, '{}') AS reasons, v.duplicate_of
      FROM export_images i
      LEFT JOIN LATERAL (SELECT valid, reasons, duplicate_of FROM export_image_verdicts
                          WHERE run_id = i.run_id AND image_key = i.image_key
                          ORDER BY seq DESC LIMIT 1) v ON true
     WHERE i.run_id = $1 AND i.tenant_id = $2 AND i.seq <= $3
       AND ($4::boolean IS NULL OR v.valid = $4)"""


async def count_images(
    conn: Connection, *, tenant_id: UUID, run_id: UUID, until: int, valid: bool | None
) -> int:
    total: int = await conn.fetchval(
        f"SELECT count(*) FROM ({_IMAGES_WITH_VERDICTS}) AS images", run_id, tenant_id, until, valid
    )
    return total


async def images_page(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    until: int,
    after: int,
    limit: int,
    valid: bool | None,
) -> Sequence[Record]:
    return await conn.fetch(
        f"{_IMAGES_WITH_VERDICTS} AND i.seq > $5 ORDER BY i.seq LIMIT $6",
        run_id,
        tenant_id,
        until,
        valid,
        after,
        limit,
    )
