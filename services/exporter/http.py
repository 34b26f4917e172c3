"""The exporter's internal HTTP surface, for ingest's public API: a tenant's exports listed and
read, a completed export's presigned link, and deletion. Only callers holding the shared
internal token get past a 401; a bad query is a 422; another tenant's export is a 404."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from services.exporter.commands import requests
from shared.http import internal_route
from shared.internal_api import (
    EXPORT_LINK_PATH,
    EXPORT_PATH,
    EXPORTS_PATH,
    MAX_EXPORTS_PAGE,
    decode_cursor,
)
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime
from shared.uow import Database


def routes(runtime: ServiceRuntime) -> list[BaseRoute]:
    def db() -> Database:
        return runtime.resources.get(Database)

    async def list_exports(request: Request) -> Response:
        query = request.query_params
        try:
            run_id = query.get("run_id")
            cursor = query.get("cursor")
            limit = int(query.get("limit", "50"))
            if not 1 <= limit <= MAX_EXPORTS_PAGE:
                raise ValueError(f"limit must be between 1 and {MAX_EXPORTS_PAGE}")
            page = await requests.list_exports(
                db(),
                tenant_id=_tenant(request),
                run_id=UUID(run_id) if run_id else None,
                after=decode_cursor(cursor) if cursor else None,
                limit=limit,
            )
        except (KeyError, ValueError) as exc:
            return _bad_query(exc)
        return _json(page)

    async def get_export(request: Request) -> Response:
        try:
            tenant_id, export_id = _tenant(request), _export_id(request)
        except (KeyError, ValueError) as exc:
            return _bad_query(exc)
        found = await requests.find_export(db(), tenant_id=tenant_id, export_id=export_id)
        return _json(found) if found is not None else _not_found()

    async def delete_export(request: Request) -> Response:
        try:
            tenant_id, export_id = _tenant(request), _export_id(request)
        except (KeyError, ValueError) as exc:
            return _bad_query(exc)
        objects = runtime.resources.get(ObjectStore)
        deleted = await requests.delete_export(db(), objects, tenant_id=tenant_id, export_id=export_id)
        return JSONResponse({"deleted": True}) if deleted else _not_found()

    async def export_link(request: Request) -> Response:
        try:
            tenant_id, export_id = _tenant(request), _export_id(request)
        except (KeyError, ValueError) as exc:
            return _bad_query(exc)
        objects = runtime.resources.get(ObjectStore)
        try:
            file = int(request.query_params.get("file", "0"))
        except ValueError as exc:
            return _bad_query(exc)
        link = await requests.export_link(db(), objects, tenant_id=tenant_id, export_id=export_id, file=file)
        return _json(link) if link is not None else _not_found()

    token = runtime.settings.internal_token
    return [
        internal_route(EXPORTS_PATH, list_exports, token=token, methods=["GET"]),
        internal_route(EXPORT_PATH, get_export, token=token, methods=["GET"]),
        internal_route(EXPORT_PATH, delete_export, token=token, methods=["DELETE"]),
        internal_route(EXPORT_LINK_PATH, export_link, token=token, methods=["GET"]),
    ]


def _tenant(request: Request) -> UUID:
    return UUID(request.query_params["tenant_id"])


def _export_id(request: Request) -> UUID:
    return UUID(request.path_params["export_id"])


def _json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


def _bad_query(exc: Exception) -> Response:
    return JSONResponse({"detail": f"bad query: {exc}"}, status_code=422)


def _not_found() -> Response:
    return JSONResponse({"detail": "not found"}, status_code=404)
