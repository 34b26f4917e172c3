"""What the extractor lets ingest read of a tenant's extracted data: a run's items, products
with their latest observation or their whole history, and a document with its tags and
extractions. None where the id is not the tenant's (ingest answers 404)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from services.extractor import store
from shared.internal_api import (
    DocumentOut,
    ExtractionOut,
    ItemOut,
    ItemsPage,
    Observation,
    ProductDetail,
    ProductOut,
    ProductsPage,
    TagOut,
    encode_cursor,
)
from shared.uow import Database


async def run_items(
    db: Database,
    *,
    tenant_id: UUID,
    run_id: UUID,
    kind: str | None,
    valid: bool | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> ItemsPage:
    async with db.connection() as conn:
        rows = await store.run_items(
            conn, tenant_id=tenant_id, run_id=run_id, kind=kind, valid=valid, after=after, limit=limit
        )
    items = [ItemOut.model_validate(dict(row)) for row in rows]
    last = items[-1] if len(items) == limit else None
    return ItemsPage(items=items, next_cursor=encode_cursor(last.created_at, last.item_id) if last else None)


async def products(
    db: Database,
    *,
    tenant_id: UUID,
    brand: str | None,
    query: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> ProductsPage:
    async with db.connection() as conn:
        rows = await store.products(
            conn, tenant_id=tenant_id, brand=brand, query=query, after=after, limit=limit
        )
    found = [ProductOut.model_validate(dict(row)) for row in rows]
    last = found[-1] if len(found) == limit else None
    return ProductsPage(
        products=found, next_cursor=encode_cursor(last.last_seen_at, last.id) if last else None
    )


async def product(db: Database, *, tenant_id: UUID, product_id: UUID) -> ProductDetail | None:
    async with db.connection() as conn:
        row = await store.product(conn, tenant_id=tenant_id, product_id=product_id)
        if row is None:
            return None
        history = await store.product_history(conn, tenant_id=tenant_id, product_id=product_id)
    observations = [Observation.model_validate(dict(entry)) for entry in history]
    latest = observations[-1] if observations else None
    return ProductDetail.model_validate(
        {
            **dict(row),
            "price": latest.price if latest else None,
            "regular_price": latest.regular_price if latest else None,
            "currency": latest.currency if latest else None,
            "availability": latest.availability if latest else None,
            "history": observations,
        }
    )


async def document(db: Database, *, tenant_id: UUID, document_id: UUID) -> DocumentOut | None:
    async with db.connection() as conn:
        row = await store.document(conn, tenant_id=tenant_id, document_id=document_id)
        if row is None:
            return None
        tags = await store.document_tags(conn, document_id=document_id)
        extractions = await store.document_extractions(conn, document_id=document_id)
    return DocumentOut.model_validate(
        {
            **dict(row),
            "tags": [TagOut.model_validate(dict(tag)) for tag in tags],
            "extractions": [ExtractionOut.model_validate(dict(extraction)) for extraction in extractions],
        }
    )
