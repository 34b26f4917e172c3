"""The extractor's internal HTTP surface: hybrid search for ingest's public `/v1/search`.

Only callers holding the shared internal token get an answer (401 otherwise); a body that is
not a SearchRequest gets a 422 naming the fields.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.extractor.commands.search import search
from services.extractor.pipeline import Pipeline
from shared.internal_api import INTERNAL_TOKEN_HEADER, token_matches
from shared.search_api import INTERNAL_SEARCH_PATH, SearchRequest
from shared.service import ServiceRuntime
from shared.uow import Database


def routes(runtime: ServiceRuntime) -> list[BaseRoute]:
    token = runtime.settings.internal_token

    async def internal_search(request: Request) -> Response:
        if not token_matches(request.headers.get(INTERNAL_TOKEN_HEADER, ""), token):
            return JSONResponse({"detail": "missing or wrong internal token"}, status_code=401)
        try:
            body = SearchRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            return JSONResponse({"detail": problems}, status_code=422)
        result = await search(runtime.resources.get(Database), runtime.resources.get(Pipeline), body)
        return JSONResponse(result.model_dump(mode="json"))

    return [Route(INTERNAL_SEARCH_PATH, internal_search, methods=["POST"])]
