"""The crawler's internal HTTP surface: a run's URLs and why each was or was not fetched, its
keyword searches and its images with their verdicts, for ingest's public `GET
/v1/runs/{id}/pages`, `.../searches` and `.../images` (contract: `shared.internal_api`).

Only callers holding the shared internal token get an answer (401 otherwise).
"""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from services.crawler import store
from services.crawler.domain.images import phash_hex
from shared.http import internal_route
from shared.internal_api import (
    MAX_RUN_IMAGES,
    MAX_RUN_URLS,
    RUN_IMAGES_PATH,
    RUN_SEARCHES_PATH,
    RUN_URLS_PATH,
    RunImage,
    RunImages,
    RunSearch,
    RunSearches,
    RunUrl,
    RunUrls,
    UrlState,
)
from shared.service import ServiceRuntime
from shared.uow import Database


def routes(runtime: ServiceRuntime) -> list[BaseRoute]:
    async def run_urls(request: Request) -> Response:
        try:
            run_id = UUID(request.path_params["run_id"])
            tenant_id = UUID(request.query_params["tenant_id"])
            states = [UrlState(state).value for state in request.query_params.getlist("state")]
            after = int(request.query_params.get("cursor") or 0)
            limit = min(int(request.query_params.get("limit", "100")), MAX_RUN_URLS)
        except (KeyError, ValueError) as exc:
            return JSONResponse({"detail": f"bad query: {exc}"}, status_code=422)
        async with runtime.resources.get(Database).connection() as conn:
            rows = await store.run_urls(
                conn, tenant_id=tenant_id, run_id=run_id, states=states, after_id=after, limit=max(limit, 1)
            )
        page = RunUrls(
            urls=[RunUrl.model_validate(dict(row)) for row in rows],
            next_cursor=str(rows[-1]["id"]) if len(rows) == max(limit, 1) else None,
        )
        return Response(page.model_dump_json(), media_type="application/json")

    async def run_searches(request: Request) -> Response:
        try:
            run_id = UUID(request.path_params["run_id"])
            tenant_id = UUID(request.query_params["tenant_id"])
        except (KeyError, ValueError) as exc:
            return JSONResponse({"detail": f"bad query: {exc}"}, status_code=422)
        async with runtime.resources.get(Database).connection() as conn:
            rows = await store.run_searches(conn, tenant_id=tenant_id, run_id=run_id)
        answer = RunSearches(searches=[RunSearch.model_validate(dict(row)) for row in rows])
        return Response(answer.model_dump_json(), media_type="application/json")

    async def run_images(request: Request) -> Response:
        query = request.query_params
        try:
            run_id = UUID(request.path_params["run_id"])
            tenant_id = UUID(query["tenant_id"])
            validation_id = UUID(query["validation_id"]) if query.get("validation_id") else None
            valid = {"true": True, "false": False, None: None}[query.get("valid")]
            after = int(query.get("cursor") or 0)
            limit = max(1, min(int(query.get("limit", "100")), MAX_RUN_IMAGES))
        except (KeyError, ValueError) as exc:
            return JSONResponse({"detail": f"bad query: {exc}"}, status_code=422)
        async with runtime.resources.get(Database).connection() as conn:
            if not await store.run_known(conn, tenant_id=tenant_id, run_id=run_id):
                return JSONResponse({"detail": "no such run"}, status_code=404)
            chosen = await store.chosen_validation(
                conn, tenant_id=tenant_id, run_id=run_id, validation_id=validation_id
            )
            if validation_id is not None and chosen is None:
                return JSONResponse({"detail": "no such validation"}, status_code=404)
            judged_by = None if chosen is None else chosen["validation_id"]
            rows = await store.run_images(
                conn,
                tenant_id=tenant_id,
                run_id=run_id,
                validation_id=judged_by,
                valid=valid,
                label=query.get("label"),
                reason=query.get("reason"),
                after_id=after,
                limit=limit,
            )
            reasons = (
                {} if judged_by is None else await store.reasons_histogram(conn, validation_id=judged_by)
            )
        answer = RunImages(
            images=[RunImage.model_validate({**dict(row), "phash": phash_hex(row["phash"])}) for row in rows],
            next_cursor=str(rows[-1]["id"]) if len(rows) == limit else None,
            validation_id=judged_by,
            validation_status=None if chosen is None else chosen["status"],
            reasons=reasons,
        )
        return Response(answer.model_dump_json(), media_type="application/json")

    token = runtime.settings.internal_token
    return [
        internal_route(RUN_URLS_PATH, run_urls, token=token, methods=["GET"]),
        internal_route(RUN_SEARCHES_PATH, run_searches, token=token, methods=["GET"]),
        internal_route(RUN_IMAGES_PATH, run_images, token=token, methods=["GET"]),
    ]
