"""Reading the read model for exports: the rows of each dataset of some runs (one, or a job's),
counted and in keyset pages, up to the position taken when the export started (so every pass
sees the same rows)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from services.exporter.store.readmodel import Record
from shared.db import Connection

# Which items: kept ones; valid=true: kept and not invalid; valid=false: invalid, kept or not.
_ITEM_FILTER = """run_id = ANY($1::uuid[]) AND tenant_id = $2 AND seq <= $3
       AND ($4::text IS NULL OR kind = $4)
       AND ($5::float8 IS NULL OR confidence >= $5)
       AND CASE WHEN $6::boolean IS NULL THEN kept
                WHEN $6 THEN kept AND valid IS NOT FALSE
                ELSE valid IS FALSE OR NOT kept END"""

_ITEM_COLUMNS = """item_id, kind, data, confidence, source_url, valid, kept, errors, product_hash, changed,
       brand_name, document_id, received_at, seq"""


async def last_position(conn: Connection, table: str, *, tenant_id: UUID, run_ids: Sequence[UUID]) -> int:
    """Where the runs' rows end now; `table` is one of this module's own."""
    assert table in ("export_items", "export_documents", "export_images", "export_llm_outputs")
    position: int = await conn.fetchval(
        f"SELECT coalesce(max(seq), 0) FROM {table} WHERE run_id = ANY($1::uuid[]) AND tenant_id = $2",
        run_ids,
        tenant_id,
    )
    return position


async def count_items(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_ids: Sequence[UUID],
    until: int,
    kind: str | None,
    min_confidence: float | None,
    valid: bool | None,
    products: bool,
) -> int:
    counted = "count(DISTINCT coalesce(product_hash, item_id::text))" if products else "count(*)"
    total: int = await conn.fetchval(
        f"SELECT {counted} FROM export_items WHERE {_ITEM_FILTER}",
        run_ids,
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
    run_ids: Sequence[UUID],
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
        run_ids,
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
    run_ids: Sequence[UUID],
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
        run_ids,
        tenant_id,
        until,
        "product",
        min_confidence,
        valid,
        after,
        limit,
    )


# The datasets read as their rows are stored (no filter, no join).
_PLAIN_TABLES = ("export_documents", "export_llm_outputs")


async def count_plain(
    conn: Connection, table: str, *, tenant_id: UUID, run_ids: Sequence[UUID], until: int
) -> int:
    assert table in _PLAIN_TABLES
    total: int = await conn.fetchval(
        f"SELECT count(*) FROM {table} WHERE run_id = ANY($1::uuid[]) AND tenant_id = $2 AND seq <= $3",
        run_ids,
        tenant_id,
        until,
    )
    return total


async def plain_page(
    conn: Connection,
    table: str,
    *,
    tenant_id: UUID,
    run_ids: Sequence[UUID],
    until: int,
    after: int,
    limit: int,
) -> Sequence[Record]:
    assert table in _PLAIN_TABLES
    return await conn.fetch(
        f"""SELECT * FROM {table}
             WHERE run_id = ANY($1::uuid[]) AND tenant_id = $2 AND seq <= $3 AND seq > $4
             ORDER BY seq LIMIT $5""",
        run_ids,
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
     WHERE i.run_id = ANY($1::uuid[]) AND i.tenant_id = $2 AND i.seq <= $3
       AND CASE $4::text WHEN 'valid' THEN v.valid IS TRUE
                         WHEN 'invalid' THEN v.valid IS FALSE
                         WHEN 'not_invalid' THEN v.valid IS NOT FALSE
                         ELSE true END"""
# Which images, by their latest verdict: 'valid', 'invalid', 'not_invalid' (valid or not judged) or 'any'.
Verdicts = str


async def count_images(
    conn: Connection, *, tenant_id: UUID, run_ids: Sequence[UUID], until: int, verdicts: Verdicts
) -> int:
    total: int = await conn.fetchval(
        f"SELECT count(*) FROM ({_IMAGES_WITH_VERDICTS}) AS images", run_ids, tenant_id, until, verdicts
    )
    return total


async def images_page(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_ids: Sequence[UUID],
    until: int,
    after: int,
    limit: int,
    verdicts: Verdicts,
) -> Sequence[Record]:
    return await conn.fetch(
        f"{_IMAGES_WITH_VERDICTS} AND i.seq > $5 ORDER BY i.seq LIMIT $6",
        run_ids,
        tenant_id,
        until,
        verdicts,
        after,
        limit,
    )
