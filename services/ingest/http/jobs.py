"""Extractor schemas, jobs, and starting a run of a job."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

import asyncpg
from fastapi import Header, Query, Request, Response
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from services.ingest import commands, store
from services.ingest.domain.submissions import Rejected, validate_job_config
from services.ingest.http.deps import Context, Principal, Reader, Writer
from services.ingest.http.models import (
    ExpandedKeywordsIn,
    ExtractorSchemaIn,
    ExtractorSchemaOut,
    JobIn,
    JobOut,
    RunOut,
    RunStart,
    SubmissionOut,
)
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router
from services.ingest.http.runs import load_run
from shared.config import Settings
from shared.db import Connection
from shared.events import JobConfig

router = api_router("schemas and jobs")


def _schema_out(row: dict[str, Any], principal: Principal) -> ExtractorSchemaOut:
    return ExtractorSchemaOut.model_validate({**row, "owned": row["tenant_id"] == principal.tenant_id})


@router.post("/extractor-schemas", response_model=ExtractorSchemaOut, status_code=201)
async def create_extractor_schema(
    body: ExtractorSchemaIn, principal: Writer, context: Context
) -> ExtractorSchemaOut:
    try:
        Draft202012Validator.check_schema(body.definition)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
        raise Problem(422, f"definition is not a valid JSON Schema at {where}: {exc.message}") from exc
    async with context.db.unit_of_work() as uow:
        row = await store.create_extractor_schema(
            uow.conn, tenant_id=principal.tenant_id, schema_id=uuid4(), **body.model_dump()
        )
    if row is None:
        raise Problem(409, f"schema {body.name!r} version {body.version!r} already exists; use a new version")
    return _schema_out(row, principal)


@router.get("/extractor-schemas", response_model=list[ExtractorSchemaOut])
async def list_extractor_schemas(principal: Reader, context: Context) -> list[ExtractorSchemaOut]:
    async with context.db.connection() as conn:
        rows = await store.list_extractor_schemas(conn, tenant_id=principal.tenant_id)
    return [_schema_out(row, principal) for row in rows]


@router.get("/extractor-schemas/{schema_id}", response_model=ExtractorSchemaOut)
async def get_extractor_schema(schema_id: UUID, principal: Reader, context: Context) -> ExtractorSchemaOut:
    async with context.db.connection() as conn:
        row = await store.visible_extractor_schema(conn, tenant_id=principal.tenant_id, schema_id=schema_id)
    if row is None:
        raise not_found("extractor schema", schema_id)
    return _schema_out(row, principal)


@router.delete("/extractor-schemas/{schema_id}", status_code=204)
async def delete_extractor_schema(schema_id: UUID, principal: Writer, context: Context) -> Response:
    async with context.db.unit_of_work() as uow:
        if not await store.delete_extractor_schema(
            uow.conn, tenant_id=principal.tenant_id, schema_id=schema_id
        ):
            visible = await store.visible_extractor_schema(
                uow.conn, tenant_id=principal.tenant_id, schema_id=schema_id
            )
            if visible is not None:
                raise Problem(403, "this public schema belongs to another tenant; it is read-only")
            raise not_found("extractor schema", schema_id)
    return Response(status_code=204)


async def _job_config(conn: Connection, body: JobIn, principal: Principal, settings: Settings) -> JobConfig:
    """The body as a JobConfig, through the same validation as Kafka submissions."""
    raw = body.model_dump(mode="json", exclude={"extractor_schema_id", "schedule_cron", "timezone"})
    if "max_depth" not in body.limits.model_fields_set:
        del raw["limits"]["max_depth"]  # unsaid: the kind's default (a keywords job's is 0)
    if body.schedule_cron is not None:
        raw["schedule"] = {"cron": body.schedule_cron, "timezone": body.timezone}
    if body.extractor_schema_id is not None:
        schema = await store.visible_extractor_schema(
            conn, tenant_id=principal.tenant_id, schema_id=body.extractor_schema_id
        )
        if schema is None:
            raise Problem(422, f"extractor_schema_id: no extractor schema {body.extractor_schema_id}")
        raw["extractor_schema"] = {
            "schema_id": str(schema["id"]),
            "version": schema["version"],
            "definition": schema["definition"],
            "strict_validation": schema["strict_validation"],
            "allow_extra_fields": schema["allow_extra_fields"],
        }
    if body.project_id is not None:
        project = await store.get_project(conn, tenant_id=principal.tenant_id, project_id=body.project_id)
        if project is None:
            raise Problem(422, f"project_id: no project {body.project_id}")
        if project["status"] == "archived":
            raise Problem(
                422, f"project_id: project {body.project_id} is archived; make it active to add jobs"
            )
    verdict = validate_job_config(raw, search_provider=settings.search_provider_name())
    if isinstance(verdict, Rejected):
        errors = [
            {"field": reason.split(":", 1)[0], "message": reason.split(":", 1)[-1].strip()}
            for reason in verdict.reasons
        ]
        raise Problem(422, "; ".join(verdict.reasons), errors=errors)
    return verdict.config


def _job_out(row: dict[str, Any]) -> JobOut:
    return JobOut.model_validate({**row, "timezone": row["schedule_timezone"]})


@router.post(
    "/jobs",
    response_model=JobOut,
    status_code=201,
    responses={200: {"description": "the job this idempotency key already created", "model": JobOut}},
)
async def create_job(
    body: JobIn,
    principal: Writer,
    context: Context,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> JobOut:
    job_id = uuid4()
    request.state.project_id = body.project_id  # the project's activity feed shows the call
    async with context.db.connection() as conn:
        config = await _job_config(conn, body, principal, context.settings)
    try:
        async with context.db.unit_of_work() as uow:
            await store.upsert_job(
                uow.conn,
                job_id=job_id,
                tenant_id=principal.tenant_id,
                config=config,
                extractor_schema_id=body.extractor_schema_id,
                next_fire_at=commands.first_fire(config),
                idempotency_key=idempotency_key,
            )
    except asyncpg.UniqueViolationError:  # the key was used before (or just now, concurrently)
        assert idempotency_key is not None
        async with context.db.connection() as conn:
            existing = await store.job_by_idempotency_key(
                conn, tenant_id=principal.tenant_id, idempotency_key=idempotency_key
            )
        assert existing is not None
        response.status_code = 200
        return _job_out(existing)
    async with context.db.connection() as conn:
        row = await store.get_job(conn, tenant_id=principal.tenant_id, job_id=job_id)
    assert row is not None
    return _job_out(row)


@router.get("/jobs", response_model=list[JobOut])
async def list_jobs(
    principal: Reader,
    context: Context,
    project_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JobOut]:
    async with context.db.connection() as conn:
        rows = await store.list_jobs(conn, tenant_id=principal.tenant_id, project_id=project_id, limit=limit)
    return [_job_out(row) for row in rows]


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: UUID, principal: Reader, context: Context) -> JobOut:
    async with context.db.connection() as conn:
        row = await store.get_job(conn, tenant_id=principal.tenant_id, job_id=job_id)
    if row is None:
        raise not_found("job", job_id)
    return _job_out(row)


@router.put("/jobs/{job_id}/expanded-keywords", response_model=JobOut)
async def set_expanded_keywords(
    job_id: UUID, body: ExpandedKeywordsIn, principal: Writer, context: Context
) -> JobOut:
    """The job's own expansions of its keywords, searched besides them from its next run on,
    instead of the LLM's (a run's `keyword_expansion` shows what it searched: copy, edit, put
    here); null gives the choice back to the llm service."""
    async with context.db.unit_of_work() as uow:
        row = await store.get_job(uow.conn, tenant_id=principal.tenant_id, job_id=job_id)
        if row is None:
            raise not_found("job", job_id)
        raw = {**row["config"], "expanded_keywords": body.expanded_keywords}
        verdict = validate_job_config(raw, search_provider=context.settings.search_provider_name())
        if isinstance(verdict, Rejected):
            raise Problem(422, "; ".join(verdict.reasons))
        await store.set_job_config(
            uow.conn, tenant_id=principal.tenant_id, job_id=job_id, config=verdict.config
        )
        updated = await store.get_job(uow.conn, tenant_id=principal.tenant_id, job_id=job_id)
    assert updated is not None
    return _job_out(updated)


@router.delete("/jobs/{job_id}", status_code=204)
async def delete_job(job_id: UUID, principal: Writer, context: Context) -> Response:
    """Deletes the job and all its runs (each announced with RunDeleted)."""
    async with context.db.unit_of_work() as uow:
        if not await commands.delete_job(uow, tenant_id=principal.tenant_id, job_id=job_id):
            raise not_found("job", job_id)
    return Response(status_code=204)


@router.post(
    "/jobs/{job_id}/runs",
    response_model=RunOut,
    status_code=201,
    responses={200: {"description": "the run this idempotency key already started", "model": RunOut}},
)
async def start_run(
    job_id: UUID,
    principal: Writer,
    context: Context,
    response: Response,
    body: RunStart | None = None,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> RunOut:
    key = idempotency_key or (body.idempotency_key if body else None)
    async with context.db.unit_of_work() as uow:
        job = await store.get_job(uow.conn, tenant_id=principal.tenant_id, job_id=job_id)
        if job is None:
            raise not_found("job", job_id)
        started = await commands.start_run(
            uow,
            commands.RunRequest(
                tenant_id=principal.tenant_id,
                trigger="api",
                job_id=job_id,
                config=JobConfig.model_validate(job["config"]),
                idempotency_key=key,
            ),
        )
    if started.refused is not None:
        raise Problem(started.refused.status, started.refused.reason)
    assert started.run_id is not None
    if started.job_id != job_id:
        raise Problem(409, f"Idempotency-Key {key!r} already started run {started.run_id} of another job")
    response.status_code = 201 if started.created else 200
    return await load_run(context, principal, started.run_id)


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
async def get_submission(submission_id: UUID, principal: Reader, context: Context) -> SubmissionOut:
    """What the Kafka intake made of a JobSubmitted of this tenant (404 until it has been taken)."""
    async with context.db.connection() as conn:
        outcome = await store.submission_outcome(
            conn, tenant_id=principal.tenant_id, submission_id=submission_id
        )
    if outcome is None:
        raise Problem(
            404, f"no submission {submission_id} in this tenant (yet: intake may not have taken it)"
        )
    return SubmissionOut(submission_id=submission_id, **outcome)
