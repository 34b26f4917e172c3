"""Keyword expansion in a run, event-driven: as the run starts, the job's own expansions are
planned as searches, or the llm service is asked (LlmTaskRequested, kind keyword_expansion);
its LlmTaskCompleted brings the phrases, searched like the keywords; its TaskFailed (no LLM
configured, or the model failed for good) leaves the run on its plain keywords, said so on the
run. The run does not complete while the answer is awaited, up to
`TRAWL_KEYWORD_EXPANSION_WAIT_SECONDS`."""

from __future__ import annotations

import json
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from services.crawler import store
from services.crawler.domain.expansion import (
    EXPANSION_PROMPT,
    EXPANSION_SCHEMA,
    accepted_expansions,
    expansion_input,
    expansion_plan,
)
from services.crawler.domain.search_results import planned_searches
from shared import runs
from shared.events import SKIPPED_ID, JobCreated, LlmTaskCompleted, LlmTaskRequested, TaskFailed
from shared.s3 import ObjectStore
from shared.uow import UnitOfWork

EXPANSION_KIND = "keyword_expansion"
EXPANSION_TASK = f"llm_{EXPANSION_KIND}"  # the task_kind of the llm service's TaskFailed


def expansion_request_id(run_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"trawl/keyword-expansion/{run_id}")


async def plan_expansion(uow: UnitOfWork, event: JobCreated, *, wait_seconds: float) -> None:
    plan = expansion_plan(event.config)
    if plan is None:
        return
    config = event.config
    await store.start_expansion(
        uow.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        state=plan.state.state,
        note=plan.state.note,
        expanded=plan.given,
        wait_seconds=wait_seconds if plan.ask_llm else None,
    )
    if plan.given:
        searches = planned_searches(config, plan.given)
        await store.add_searches(uow.conn, run_id=event.run_id, tenant_id=event.tenant_id, searches=searches)
    if plan.ask_llm:
        await uow.outbox.publish(
            LlmTaskRequested(
                tenant_id=event.tenant_id,
                job_id=event.job_id,
                run_id=event.run_id,
                request_id=expansion_request_id(event.run_id),
                kind=EXPANSION_KIND,
                requested_by=uow.service,
                input_s3_key="",
                input_content_hash="",
                input=expansion_input(config),
                prompt=EXPANSION_PROMPT,
                output_schema=EXPANSION_SCHEMA,
            )
        )


async def take_expansion(uow: UnitOfWork, objects: ObjectStore, event: LlmTaskCompleted) -> None:
    """The llm service's expansions: kept on the run and searched (nothing when the run no
    longer waits for them)."""
    if event.kind != EXPANSION_KIND:
        return
    config = await runs.run_config(uow.conn, run_id=event.run_id, tenant_id=event.tenant_id)
    if config is None:
        return
    output: dict[str, Any] = (
        event.output
        if event.output is not None
        else json.loads(await objects.get(event.s3_output_path))["output"]
    )
    expanded = accepted_expansions(output, config)
    phrases = sum(len(found) for found in expanded.values())
    note = f"{phrases} phrase(s) from {event.model}" + (" (cached)" if event.cached else "")
    if await store.settle_expansion(
        uow.conn, run_id=event.run_id, tenant_id=event.tenant_id, state="done", note=note, expanded=expanded
    ):
        searches = planned_searches(config, expanded)
        await store.add_searches(uow.conn, run_id=event.run_id, tenant_id=event.tenant_id, searches=searches)


async def expansion_failed(uow: UnitOfWork, event: TaskFailed) -> None:
    """No expansions: the llm service has no model configured, or its task failed for good."""
    if event.service != "llm" or event.task_kind != EXPANSION_TASK or event.run_id is None:
        return
    skipped = SKIPPED_ID in event.ids
    await store.settle_expansion(
        uow.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        state="skipped" if skipped else "failed",
        note=f"{event.error[:500]}; the keywords alone are searched",
        expanded={},
    )
