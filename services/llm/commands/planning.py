"""Tasks from events: a run's active queries over each product it finds (seed 000), and the
tasks other services ask for. Each in the unit of work of the event that caused it; the same
event again makes no second task."""

from __future__ import annotations

from uuid import UUID, uuid4

from services.llm import metrics, store
from services.llm.domain.tasks import NewTask, query_task, requested_task
from shared import runs
from shared.config import Settings
from shared.events import SKIPPED_ID, ItemExtracted, ItemKind, LlmTaskRequested, TaskFailed
from shared.uow import UnitOfWork

NO_ENDPOINT = "no LLM endpoint configured (TRAWL_LLM_URL): tasks wait as pending and run once one is"
NO_EXPANSION = "no LLM endpoint configured (TRAWL_LLM_URL) to expand the keywords"


async def plan_product_tasks(uow: UnitOfWork, settings: Settings, event: ItemExtracted) -> int:
    """One task per active query of the run over the product; returns how many are new."""
    if event.kind is not ItemKind.PRODUCT:
        return 0
    if await runs.run_status(uow.conn, run_id=event.run_id, tenant_id=event.tenant_id) is None:
        if await runs.run_fate(uow.conn, run_id=event.run_id, tenant_id=event.tenant_id) != "deleted":
            # Its JobCreated is not in yet (another topic): the product waits for the run's queries.
            await store.keep_waiting_item(uow.conn, event)
        return 0
    queries = await store.active_queries(uow.conn, run_id=event.run_id, tenant_id=event.tenant_id)
    if not queries:
        return 0
    session_id = await _session(uow, event.tenant_id, event.run_id, event.job_id)
    product_hash = event.product_hash or f"item:{event.item_id}"
    created = 0
    for query in queries:
        task = query_task(
            uuid4(),
            tenant_id=event.tenant_id,
            session_id=session_id,
            job_id=event.job_id,
            run_id=event.run_id,
            query=query,
            product_hash=product_hash,
            product=event.data,
            model=settings.llm_model,
            max_tokens=settings.llm_max_output_tokens,
        )
        created += await _add(uow, settings, task)
    return created


async def plan_waiting_items(uow: UnitOfWork, settings: Settings, *, tenant_id: UUID, run_id: UUID) -> int:
    """Once a run is known, the products that came before it."""
    planned = 0
    for event in await store.take_waiting_items(uow.conn, tenant_id=tenant_id, run_id=run_id):
        planned += await plan_product_tasks(uow, settings, event)
    return planned


async def take_request(uow: UnitOfWork, settings: Settings, event: LlmTaskRequested) -> bool:
    """The task a request asks for; False when the request was taken before. A keyword job's
    expansions do not wait for an endpoint to be configured: the run goes on without them,
    told so at once."""
    if event.kind == "keyword_expansion" and settings.llm_url is None:
        await uow.outbox.publish(
            TaskFailed.now(
                service=uow.service,
                tenant_id=event.tenant_id,
                task_kind=f"llm_{event.kind}",
                error=f"skipped: {NO_EXPANSION}",
                attempts=0,
                job_id=event.job_id,
                run_id=event.run_id,
                ids={"request_id": str(event.request_id), SKIPPED_ID: "no_endpoint"},
            )
        )
        return False
    if event.session_id is not None:
        session_id = event.session_id
        await store.on_demand_session(
            uow.conn,
            session_id=session_id,
            tenant_id=event.tenant_id,
            run_id=event.run_id,
            job_id=event.job_id,
        )
    else:
        session_id = await _session(uow, event.tenant_id, event.run_id, event.job_id)
    task = requested_task(
        uuid4(),
        tenant_id=event.tenant_id,
        session_id=session_id,
        job_id=event.job_id,
        run_id=event.run_id,
        kind=event.kind,
        request_id=event.request_id,
        prompt=event.prompt,
        output_schema=event.output_schema,
        input_s3_key=event.input_s3_key,
        input_content_hash=event.input_content_hash,
        partial=event.partial,
        document_id=event.document_id,
        model=settings.llm_model,
        max_tokens=settings.llm_max_output_tokens,
        inline=event.input,
    )
    return await _add(uow, settings, task)


async def _session(uow: UnitOfWork, tenant_id: UUID, run_id: UUID, job_id: UUID | None) -> UUID:
    return await store.run_session(
        uow.conn, session_id=uuid4(), tenant_id=tenant_id, run_id=run_id, job_id=job_id
    )


async def _add(uow: UnitOfWork, settings: Settings, task: NewTask) -> bool:
    waiting = NO_ENDPOINT if settings.llm_url is None else None
    added = await store.insert_task(uow.conn, task, waiting_reason=waiting)
    if added:
        metrics.TASKS_PLANNED.labels(task.kind).inc()
    return added
