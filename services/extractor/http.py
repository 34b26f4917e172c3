"""The extractor's internal HTTP surface, for ingest's public API: hybrid search (`/v1/search`),
a run's items, products and documents (`/v1/runs/{id}/items`, `/v1/products`,
`/v1/documents/{id}`); and for the operator's `trawl reindex` and `trawl reconcile` (the
extractor owns the embedded vector store). Only callers holding the shared internal token get
past a 401; a bad body or query is a 422 naming what was wrong; another tenant's id is a 404.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import RootModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from services.extractor.commands import reading, reindex
from services.extractor.commands.llm_requests import ask_about_run
from services.extractor.commands.reconcile import ReconcileRequest, Report, reconcile
from services.extractor.commands.reindex import ReindexRefused, ReindexRequest
from services.extractor.commands.search import search
from services.extractor.pipeline import Pipeline
from shared.http import internal_route
from shared.internal_api import (
    DOCUMENT_PATH,
    PRODUCT_PATH,
    PRODUCTS_PATH,
    RECONCILE_PATH,
    REINDEX_PATH,
    RUN_ITEMS_PATH,
)
from shared.internal_http import bad_query, cursor_of, json_response, not_found, page_limit, tenant_of
from shared.llm_api import RUN_LLM_TASKS_PATH, UserTask
from shared.s3 import ObjectStore
from shared.search_api import INTERNAL_SEARCH_PATH, SearchRequest
from shared.service import ServiceRuntime
from shared.uow import Database


def routes(runtime: ServiceRuntime) -> list[BaseRoute]:
    def db() -> Database:
        return runtime.resources.get(Database)

    def pipeline() -> Pipeline:
        return runtime.resources.get(Pipeline)

    async def internal_search(request: Request) -> Response:
        try:
            body = SearchRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            return JSONResponse({"detail": problems}, status_code=422)
        return json_response(await search(db(), pipeline(), body))

    async def run_items(request: Request) -> Response:
        query = request.query_params
        try:
            valid = {"true": True, "false": False, None: None}[query.get("valid")]
            page = await reading.run_items(
                db(),
                tenant_id=tenant_of(request),
                run_id=UUID(request.path_params["run_id"]),
                kind=query.get("kind"),
                valid=valid,
                after=cursor_of(request),
                limit=page_limit(request),
            )
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        return json_response(page)

    async def products(request: Request) -> Response:
        query = request.query_params
        try:
            page = await reading.products(
                db(),
                tenant_id=tenant_of(request),
                brand=query.get("brand"),
                query=query.get("q"),
                after=cursor_of(request),
                limit=page_limit(request),
            )
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        return json_response(page)

    async def product(request: Request) -> Response:
        try:
            found = await reading.product(
                db(), tenant_id=tenant_of(request), product_id=UUID(request.path_params["product_id"])
            )
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        return json_response(found) if found is not None else not_found()

    async def document(request: Request) -> Response:
        try:
            found = await reading.document(
                db(), tenant_id=tenant_of(request), document_id=UUID(request.path_params["document_id"])
            )
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        return json_response(found) if found is not None else not_found()

    async def llm_tasks(request: Request) -> Response:
        try:
            task = UserTask.model_validate_json(await request.body())
            run_id = UUID(request.path_params["run_id"])
        except (ValidationError, ValueError) as exc:
            return bad_query(exc)
        requested = await ask_about_run(db(), pipeline(), run_id=run_id, task=task)
        return json_response(requested) if requested is not None else not_found()

    async def start_reindex(request: Request) -> Response:
        try:
            body = ReindexRequest.model_validate_json(await request.body() or b"{}")
            return json_response(await reindex.start_reindex(db(), pipeline(), body))
        except (ValidationError, ValueError) as exc:
            return JSONResponse(
                {"detail": str(exc)}, status_code=409 if isinstance(exc, ReindexRefused) else 422
            )

    async def reindex_status(_request: Request) -> Response:
        try:
            return json_response(await reindex.reindex_status(db()))
        except ReindexRefused as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)

    async def reconcile_stores(request: Request) -> Response:
        try:
            body = ReconcileRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return bad_query(exc)
        report = await reconcile(
            db(), pipeline(), runtime.resources.get(ObjectStore), run_id=body.run_id, repair=body.repair
        )
        return JSONResponse(RootModel[Report](report).model_dump(mode="json"))

    token = runtime.settings.internal_token
    return [
        internal_route(REINDEX_PATH, start_reindex, token=token, methods=["POST"]),
        internal_route(REINDEX_PATH, reindex_status, token=token, methods=["GET"]),
        internal_route(RECONCILE_PATH, reconcile_stores, token=token, methods=["POST"]),
        internal_route(INTERNAL_SEARCH_PATH, internal_search, token=token, methods=["POST"]),
        internal_route(RUN_ITEMS_PATH, run_items, token=token, methods=["GET"]),
        internal_route(PRODUCTS_PATH, products, token=token, methods=["GET"]),
        internal_route(PRODUCT_PATH, product, token=token, methods=["GET"]),
        internal_route(DOCUMENT_PATH, document, token=token, methods=["GET"]),
        internal_route(RUN_LLM_TASKS_PATH, llm_tasks, token=token, methods=["POST"]),
    ]
