"""Products and their observations, schema-defined records, extractions and tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.db import Connection


@dataclass(frozen=True)
class ProductSighting:
    """A product found on a page of a run, with its identity."""

    tenant_id: UUID
    job_id: UUID | None
    run_id: UUID
    document_id: UUID
    item_id: UUID
    url: str | None
    product_hash: str
    identity_basis: str
    name: str | None
    brand: str | None
    brand_name: str | None
    data: dict[str, Any]
    confidence: float | None


@dataclass(frozen=True)
class StoredResult:
    id: UUID
    tenant_id: UUID
    job_id: UUID | None
    run_id: UUID
    document_id: UUID
    url: str | None
    schema_id: UUID
    schema_version: str
    data: dict[str, Any]
    valid: bool
    errors: list[dict[str, str]]
    kept: bool
    content_hash: str
    confidence: float | None
    field_confidence: dict[str, float]
    reused_from: UUID | None = None


_WATCHED = ("price", "regular_price", "currency", "availability")


async def observe_product(conn: Connection, sighting: ProductSighting) -> tuple[UUID, bool]:
    """The product (made when first seen) with this run's observation; returns its id and
    whether its price or availability changed since its previous observation (a new product
    counts as changed). A second sighting in the same run keeps the first observation."""
    product_id: UUID = await conn.fetchval(
        """INSERT INTO products (id, tenant_id, product_hash, identity_basis, name, brand, brand_name,
                                 product_data, confidence, first_job_id, first_run_id, last_job_id,
                                 last_run_id)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $10)
           ON CONFLICT ON CONSTRAINT products_identity DO UPDATE
              SET name = coalesce(EXCLUDED.name, products.name),
                  brand = coalesce(EXCLUDED.brand, products.brand),
                  brand_name = coalesce(EXCLUDED.brand_name, products.brand_name),
                  product_data = EXCLUDED.product_data, confidence = EXCLUDED.confidence,
                  last_seen_at = now(), last_job_id = EXCLUDED.last_job_id, last_run_id = EXCLUDED.last_run_id
           RETURNING id""",
        sighting.tenant_id,
        sighting.product_hash,
        sighting.identity_basis,
        sighting.name,
        sighting.brand,
        sighting.brand_name,
        sighting.data,
        sighting.confidence,
        sighting.job_id,
        sighting.run_id,
    )
    previous = await conn.fetchrow(
        """SELECT price, regular_price, currency, availability FROM product_observations
            WHERE product_id = $1 AND run_id <> $2 ORDER BY observed_at DESC, id DESC LIMIT 1""",
        product_id,
        sighting.run_id,
    )
    watched = [_text(sighting.data.get(name)) for name in _WATCHED]
    changed = previous is None or [previous[name] for name in _WATCHED] != watched
    await conn.execute(
        """INSERT INTO product_observations (tenant_id, product_id, job_id, run_id, document_id, item_id, url,
                                             price, regular_price, currency, availability, data, confidence,
                                             changed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT ON CONSTRAINT observations_once_per_run DO NOTHING""",
        sighting.tenant_id,
        product_id,
        sighting.job_id,
        sighting.run_id,
        sighting.document_id,
        sighting.item_id,
        sighting.url,
        *watched,
        sighting.data,
        sighting.confidence,
        changed,
    )
    return product_id, changed


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def insert_result(conn: Connection, result: StoredResult) -> None:
    await conn.execute(
        """INSERT INTO results (id, tenant_id, job_id, run_id, document_id, url, schema_id, schema_version,
                                data, valid, errors, kept, content_hash, confidence_score,
                                field_confidence, reused_from)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           ON CONFLICT ON CONSTRAINT results_once_per_page DO NOTHING""",
        result.id,
        result.tenant_id,
        result.job_id,
        result.run_id,
        result.document_id,
        result.url,
        result.schema_id,
        result.schema_version,
        result.data,
        result.valid,
        result.errors,
        result.kept,
        result.content_hash,
        result.confidence,
        result.field_confidence,
        result.reused_from,
    )


async def reusable_result(
    conn: Connection,
    *,
    tenant_id: UUID,
    job_id: UUID,
    url: str,
    content_hash: str,
    schema_id: UUID,
    schema_version: str,
) -> asyncpg.Record | None:
    """The job's latest record of this URL from the same bytes with the same schema version."""
    return await conn.fetchrow(
        """SELECT * FROM results
            WHERE tenant_id = $1 AND job_id = $2 AND url = $3 AND content_hash = $4
              AND schema_id = $5 AND schema_version = $6
            ORDER BY created_at DESC LIMIT 1""",
        tenant_id,
        job_id,
        url,
        content_hash,
        schema_id,
        schema_version,
    )


async def previous_products(
    conn: Connection, *, tenant_id: UUID, job_id: UUID, url_hash: str, content_hash: str
) -> list[asyncpg.Record]:
    """The products the job last saw on this page from the same bytes, for a page unchanged
    since: its latest such document's observations (of a page indexed, or one with products
    and no text to index), with their products' identity."""
    return await conn.fetch(
        """SELECT p.product_hash, p.identity_basis, p.name, p.brand, o.data, o.confidence, o.url
             FROM product_observations o JOIN products p ON p.id = o.product_id
            WHERE o.document_id = (SELECT d.id FROM documents d
                                    WHERE d.tenant_id = $1 AND d.job_id = $2 AND d.url_hash = $3
                                      AND d.content_hash = $4
                                      AND (d.status = 'indexed' OR d.skipped = 'no_text')
                                    ORDER BY d.created_at DESC LIMIT 1)
            ORDER BY o.id""",
        tenant_id,
        job_id,
        url_hash,
        content_hash,
    )


async def insert_extractions(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    document_id: UUID,
    extractions: Sequence[tuple[str, dict[str, Any], float | None]],
) -> None:
    await conn.executemany(
        """INSERT INTO content_extractions (tenant_id, run_id, document_id, kind, data, confidence)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        [(tenant_id, run_id, document_id, kind, data, confidence) for kind, data, confidence in extractions],
    )


async def insert_tags(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    document_id: UUID,
    tags: Sequence[tuple[str, str, str]],
) -> None:
    await conn.executemany(
        """INSERT INTO tags (tenant_id, run_id, document_id, name, value, source)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        [(tenant_id, run_id, document_id, name, value, source) for name, value, source in tags],
    )


async def delete_run_items(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> None:
    """The run's records and observations; products no other run observed go with them."""
    await conn.execute("DELETE FROM results WHERE tenant_id = $1 AND run_id = $2", tenant_id, run_id)
    await conn.execute(
        "DELETE FROM product_observations WHERE tenant_id = $1 AND run_id = $2", tenant_id, run_id
    )
    await conn.execute(
        """DELETE FROM products p WHERE p.tenant_id = $1
              AND NOT EXISTS (SELECT 1 FROM product_observations o WHERE o.product_id = p.id)""",
        tenant_id,
    )


# -- reading ------------------------------------------------------------------------------


async def run_items(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    kind: str | None,
    valid: bool | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """A run's items (product observations and records) in the order they were made."""
    return await conn.fetch(
        """SELECT * FROM (
               SELECT o.item_id, 'product' AS kind, o.observed_at AS created_at, o.document_id, o.url,
                      o.data, o.confidence, NULL::boolean AS valid, true AS kept, '[]'::jsonb AS errors,
                      p.product_hash, o.changed, p.id AS product_id
                 FROM product_observations o JOIN products p ON p.id = o.product_id
                WHERE o.tenant_id = $1 AND o.run_id = $2
               UNION ALL
               SELECT r.id, 'schema_result', r.created_at, r.document_id, r.url, r.data, r.confidence_score,
                      r.valid, r.kept, r.errors, NULL, NULL, NULL
                 FROM results r WHERE r.tenant_id = $1 AND r.run_id = $2) items
            WHERE ($3::text IS NULL OR kind = $3) AND ($4::boolean IS NULL OR valid = $4)
              AND ($5::timestamptz IS NULL OR (created_at, item_id) > ($5, $6))
            ORDER BY created_at, item_id LIMIT $7""",
        tenant_id,
        run_id,
        kind,
        valid,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


async def products(
    conn: Connection,
    *,
    tenant_id: UUID,
    brand: str | None,
    query: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """The tenant's products, most recently seen first, each with its latest observation."""
    return await conn.fetch(
        """SELECT p.*, o.price, o.regular_price, o.currency, o.availability, o.observed_at,
                  o.run_id AS observed_run_id
             FROM products p
             LEFT JOIN LATERAL (SELECT * FROM product_observations o WHERE o.product_id = p.id
                                 ORDER BY observed_at DESC, id DESC LIMIT 1) o ON true
            WHERE p.tenant_id = $1
              AND ($2::text IS NULL OR lower(coalesce(p.brand_name, p.brand)) = lower($2)
                   OR lower(p.brand) = lower($2))
              AND ($3::text IS NULL OR p.name ILIKE '%' || $3 || '%')
              AND ($4::timestamptz IS NULL OR (p.last_seen_at, p.id) < ($4, $5))
            ORDER BY p.last_seen_at DESC, p.id DESC LIMIT $6""",
        tenant_id,
        brand,
        query,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


async def product(conn: Connection, *, tenant_id: UUID, product_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM products WHERE tenant_id = $1 AND id = $2", tenant_id, product_id
    )


async def product_history(conn: Connection, *, tenant_id: UUID, product_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT run_id, job_id, url, price, regular_price, currency, availability, changed, observed_at
             FROM product_observations WHERE tenant_id = $1 AND product_id = $2 ORDER BY observed_at, id""",
        tenant_id,
        product_id,
    )


async def document(conn: Connection, *, tenant_id: UUID, document_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, job_id, run_id, source_type, url, title, document_type, content_hash, status, skipped,
                  error_message, chunk_count, metadata, items_found, items_extracted, created_at, indexed_at
             FROM documents WHERE tenant_id = $1 AND id = $2""",
        tenant_id,
        document_id,
    )


async def document_tags(conn: Connection, *, document_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT name, value, source FROM tags WHERE document_id = $1 ORDER BY name, value", document_id
    )


async def document_extractions(conn: Connection, *, document_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT kind, data, confidence, created_at FROM content_extractions
            WHERE document_id = $1 ORDER BY id""",
        document_id,
    )


async def result_for_revision(conn: Connection, *, tenant_id: UUID, result_id: UUID) -> asyncpg.Record | None:
    """A record, locked until the transaction ends (its LLM completion rewrites it)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM results WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id, result_id
    )
    return row


async def revise_result(
    conn: Connection,
    *,
    result_id: UUID,
    data: dict[str, Any],
    valid: bool,
    errors: list[dict[str, str]],
    kept: bool,
    confidence: float,
    field_confidence: dict[str, float],
) -> None:
    await conn.execute(
        """UPDATE results SET data = $2, valid = $3, errors = $4, kept = $5, confidence_score = $6,
                              field_confidence = $7, source = 'llm'
            WHERE id = $1""",
        result_id,
        data,
        valid,
        errors,
        kept,
        confidence,
        field_confidence,
    )
