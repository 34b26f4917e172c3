"""How every route of the public API reads its body: bounded, and its JSON strictly.

FastAPI reads bodies with `Request.body()` and `Request.json()`; this route class hands the
endpoint a request that stops reading past the route's limit (a 413, also for bodies sent
without a Content-Length) and whose `json()` refuses NaN, Infinity and numbers no JSON reader
should accept (`shared.strictjson`), so they are a 422 like any other malformed body, never a
500 from the database further on.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from enum import Enum
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.routing import APIRoute

from shared import strictjson
from shared.config import Settings

UPLOADS_PATH = "/v1/uploads"
MAX_UPLOAD_FILES = 100


def body_limit(path: str, settings: Settings) -> int:
    """Uploads may carry many files; every other body is JSON."""
    if path == UPLOADS_PATH:
        return settings.upload_max_bytes * MAX_UPLOAD_FILES
    return settings.api_json_max_bytes


class StrictJsonRequest(Request):
    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            settings: Settings = self.app.state.context.settings
            limit = body_limit(self.url.path, settings)
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > limit:
                    raise HTTPException(
                        413, f"the request body passed {limit:,} bytes; at most {limit:,} are accepted"
                    )
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strictjson.loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict


def api_router(tag: str) -> APIRouter:
    """A router of the public API under /v1."""
    tags: list[str | Enum] = [tag]
    return APIRouter(prefix="/v1", tags=tags, route_class=StrictJsonRoute)
