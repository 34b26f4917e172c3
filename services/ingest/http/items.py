"""What the extractor found: a run's items (products and schema records), the tenant's products
with their price and availability history, and a document with its tags and extractions.
Computed by the extractor, which owns them; another tenant's ids are 404s like unknown ones."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, Query

from services.ingest.http.deps import Context, Reader
from services.ingest.http.internal import ask, tenant_params
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router
from services.ingest.http.runs import load_run
from shared.internal_api import (
    DOCUMENT_PATH,
    MAX_PAGE,
    PRODUCT_PATH,
    PRODUCTS_PATH,
    RUN_ITEMS_PATH,
    DocumentOut,
    ItemsPage,
    ProductDetail,
    ProductsPage,
    decode_cursor,
)

router = api_router("items, products and documents")

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
# Text a database can store: no NUL characters.
_STORABLE = r"^[^\x00]*$"


def _cursor(
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
) -> str | None:
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except ValueError as exc:
            raise Problem(422, f"cursor: {cursor!r} is not a next_cursor this API gave") from exc
    return cursor


Cursor = Annotated[str | None, Depends(_cursor)]


@router.get("/runs/{run_id}/items", response_model=ItemsPage)
async def run_items(
    run_id: UUID,
    principal: Reader,
    context: Context,
    cursor: Cursor,
    kind: Literal["product", "schema_result"] | None = None,
    valid: bool | None = None,
    limit: Limit = 100,
) -> ItemsPage:
    """The run's products and records, in the order they were extracted."""
    await load_run(context, principal, run_id)
    params = tenant_params(principal.tenant_id, kind=kind, valid=valid, limit=limit, cursor=cursor)
    url = context.settings.extractor_url + RUN_ITEMS_PATH.format(run_id=run_id)
    reply = await ask(context, "extractor", url, params=params)
    if reply is None:
        raise not_found("run", run_id)
    return ItemsPage.model_validate_json(reply.content)


@router.get("/products", response_model=ProductsPage)
async def products(
    principal: Reader,
    context: Context,
    cursor: Cursor,
    brand: Annotated[
        str | None, Query(max_length=300, description="the product's or the job's brand")
    ] = None,
    q: Annotated[str | None, Query(max_length=300, description="words of the product's name")] = None,
    limit: Limit = 100,
) -> ProductsPage:
    """The tenant's products, most recently seen first, each with its latest observation."""
    params = tenant_params(principal.tenant_id, brand=brand, q=q, limit=limit, cursor=cursor)
    reply = await ask(context, "extractor", context.settings.extractor_url + PRODUCTS_PATH, params=params)
    if reply is None:
        raise Problem(502, "the extractor answered 404 for a listing; try again shortly")
    return ProductsPage.model_validate_json(reply.content)


@router.get("/products/{product_id}", response_model=ProductDetail)
async def product(product_id: UUID, principal: Reader, context: Context) -> ProductDetail:
    """One product with its price and availability on every run that saw it."""
    url = context.settings.extractor_url + PRODUCT_PATH.format(product_id=product_id)
    reply = await ask(context, "extractor", url, params=tenant_params(principal.tenant_id))
    if reply is None:
        raise not_found("product", product_id)
    return ProductDetail.model_validate_json(reply.content)


@router.get("/documents/{document_id}", response_model=DocumentOut)
async def document(document_id: UUID, principal: Reader, context: Context) -> DocumentOut:
    """One document: its metadata, tags and every extraction made from it."""
    url = context.settings.extractor_url + DOCUMENT_PATH.format(document_id=document_id)
    reply = await ask(context, "extractor", url, params=tenant_params(principal.tenant_id))
    if reply is None:
        raise not_found("document", document_id)
    return DocumentOut.model_validate_json(reply.content)
