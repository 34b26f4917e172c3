"""The extractor's internal HTTP surface, for ingest's public API: hybrid search (`/v1/search`),
a run's items, products and documents (`/v1/runs/{id}/items`, `/v1/products`,
`/v1/documents/{id}`). Only callers holding the shared internal token get past a 401; a bad
body or query is a 422 naming what was wrong; another tenant's id is a 404.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from services.extractor.commands import reading
from services.extractor.commands.search import search
from services.extractor.pipeline import Pipeline
from shared.http import internal_route
from shared.internal_api import (
    DOCUMENT_PATH,
    MAX_PAGE,
    PRODUCT_PATH,
    PRODUCTS_PATH,
    RUN_ITEMS_PATH,
    decode_cursor,
)
from shared.search_api import INTERNAL_SEARCH_PATH, SearchRequest
from shared.service import ServiceRuntime
from shared.uow import Database


class BadQuery(ValueError):
    pass


def routes(runtime: ServiceRuntime) -> list[BaseRoute]:
    def db() -> Database:
        return runtime.resources.get(Database)

    async def internal_search(request: Request) -> Response:
        try:
            body = SearchRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            return JSONResponse({"detail": problems}, status_code=422)
        return _json(await search(db(), runtime.resources.get(Pipeline), body))

    async def run_items(request: Request) -> Response:
        query = request.query_params
        try:
            valid = {"true": True, "false": False, None: None}[query.get("valid")]
            page = await reading.run_items(
                db(),
                tenant_id=_tenant(request),
                run_id=UUID(request.path_params["run_id"]),
                kind=query.get("kind"),
                valid=valid,
                after=_after(request),
                limit=_limit(request),
            )
        except (BadQuery, KeyError, ValueError) as exc:
            return _bad_query(exc)
        return _json(page)

    async def products(request: Request) -> Response:
        query = request.query_params
        try:
            page = await reading.products(
                db(),
                tenant_id=_tenant(request),
                brand=query.get("brand"),
                query=query.get("q"),
                after=_after(request),
                limit=_limit(request),
            )
        except (BadQuery, KeyError, ValueError) as exc:
            return _bad_query(exc)
        return _json(page)

    async def product(request: Request) -> Response:
        try:
            found = await reading.product(
                db(), tenant_id=_tenant(request), product_id=UUID(request.path_params["product_id"])
            )
        except (BadQuery, KeyError, ValueError) as exc:
            return _bad_query(exc)
        return _json(found) if found is not None else _not_found()

    async def document(request: Request) -> Response:
        try:
            found = await reading.document(
                db(), tenant_id=_tenant(request), document_id=UUID(request.path_params["document_id"])
            )
        except (BadQuery, KeyError, ValueError) as exc:
            return _bad_query(exc)
        return _json(found) if found is not None else _not_found()

    token = runtime.settings.internal_token
    return [
        internal_route(INTERNAL_SEARCH_PATH, internal_search, token=token, methods=["POST"]),
        internal_route(RUN_ITEMS_PATH, run_items, token=token, methods=["GET"]),
        internal_route(PRODUCTS_PATH, products, token=token, methods=["GET"]),
        internal_route(PRODUCT_PATH, product, token=token, methods=["GET"]),
        internal_route(DOCUMENT_PATH, document, token=token, methods=["GET"]),
    ]


def _tenant(request: Request) -> UUID:
    return UUID(request.query_params["tenant_id"])


def _after(request: Request) -> tuple[datetime, UUID] | None:
    cursor = request.query_params.get("cursor")
    return decode_cursor(cursor) if cursor else None


def _limit(request: Request) -> int:
    limit = int(request.query_params.get("limit", "100"))
    if not 1 <= limit <= MAX_PAGE:
        raise BadQuery(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def _json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


def _bad_query(exc: Exception) -> Response:
    return JSONResponse({"detail": f"bad query: {exc}"}, status_code=422)


def _not_found() -> Response:
    return JSONResponse({"detail": "not found"}, status_code=404)
