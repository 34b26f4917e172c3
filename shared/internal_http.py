"""What every service's internal HTTP handlers read and answer alike: the tenant a request is
for, a page's cursor and size, a model as JSON, a 422 for a bad query, a 404."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared.internal_api import MAX_PAGE, decode_cursor


class BadQuery(ValueError):
    pass


def tenant_of(request: Request) -> UUID:
    """The `tenant_id` query parameter (KeyError or ValueError when missing or not a UUID)."""
    return UUID(request.query_params["tenant_id"])


def cursor_of(request: Request) -> tuple[datetime, UUID] | None:
    cursor = request.query_params.get("cursor")
    return decode_cursor(cursor) if cursor else None


def page_limit(request: Request) -> int:
    limit = int(request.query_params.get("limit", "100"))
    if not 1 <= limit <= MAX_PAGE:
        raise BadQuery(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def json_response(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


def bad_query(exc: Exception) -> Response:
    return JSONResponse({"detail": f"bad query: {exc}"}, status_code=422)


def not_found() -> Response:
    return JSONResponse({"detail": "not found"}, status_code=404)
