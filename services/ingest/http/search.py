"""Public search: authenticated, rate-limited and audited here, computed by the extractor."""

from __future__ import annotations

import httpx

from services.ingest import store
from services.ingest.http.deps import Context, Reader
from services.ingest.http.models import SearchIn
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router
from shared.internal_api import INTERNAL_TOKEN_HEADER
from shared.search_api import INTERNAL_SEARCH_PATH, SearchRequest, SearchResponse

router = api_router("search")


@router.post(
    "/search",
    response_model=SearchResponse,
    responses={
        502: {"description": "the search backend failed"},
        503: {"description": "search is unavailable"},
    },
)
async def search(body: SearchIn, principal: Reader, context: Context) -> SearchResponse:
    """Hybrid (vector + keyword), vector or keyword search over this tenant's indexed chunks."""
    async with context.db.connection() as conn:
        if body.run_id is not None and not await store.run_with_progress(
            conn, run_id=body.run_id, tenant_id=principal.tenant_id
        ):
            raise not_found("run", body.run_id)
        if body.job_id is not None and not await store.get_job(
            conn, tenant_id=principal.tenant_id, job_id=body.job_id
        ):
            raise not_found("job", body.job_id)
    request = SearchRequest(tenant_id=principal.tenant_id, **body.model_dump())
    url = context.settings.extractor_url + INTERNAL_SEARCH_PATH
    try:
        reply = await context.http.post(
            url,
            content=request.model_dump_json(),
            headers={
                INTERNAL_TOKEN_HEADER: context.settings.internal_token,
                "Content-Type": "application/json",
            },
            timeout=context.settings.search_timeout_seconds,
        )
    except httpx.TimeoutException as exc:
        raise Problem(504, "search took too long; try a narrower query or a smaller limit") from exc
    except httpx.HTTPError as exc:
        raise Problem(503, "search is unavailable: the extractor did not answer; try again shortly") from exc
    if reply.status_code != 200:
        raise Problem(502, f"the search backend answered {reply.status_code}; try again shortly")
    return SearchResponse.model_validate_json(reply.content)
