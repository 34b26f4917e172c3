"""Public search: authenticated, rate-limited and audited here, computed by the extractor."""

from __future__ import annotations

from services.ingest import store
from services.ingest.http.deps import Context, Reader
from services.ingest.http.internal import ask
from services.ingest.http.models import SearchIn
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router
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
    reply = await ask(
        context,
        "extractor",
        context.settings.extractor_url + INTERNAL_SEARCH_PATH,
        json_body=request.model_dump_json(),
        wait_seconds=context.settings.search_timeout_seconds,
    )
    if reply is None:
        raise Problem(502, "the extractor answered 404 to a search; try again shortly")
    return SearchResponse.model_validate_json(reply.content)
