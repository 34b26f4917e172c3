"""Projects (seed 004): their status, their deletion with everything their jobs made, and their
activity feed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import Query, Response

from services.ingest import commands, store
from services.ingest.http.deps import Context, Reader, Writer
from services.ingest.http.models import ActivityOut, ProjectChange, ProjectIn, ProjectOut
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router

router = api_router("projects")


@router.post("/projects", response_model=ProjectOut, status_code=201)
async def create_project(body: ProjectIn, principal: Writer, context: Context) -> ProjectOut:
    async with context.db.unit_of_work() as uow:
        row = await store.create_project(
            uow.conn,
            project_id=uuid4(),
            tenant_id=principal.tenant_id,
            name=body.name,
            description=body.description,
        )
    return ProjectOut.model_validate(row)


@router.get("/projects", response_model=list[ProjectOut])
async def list_projects(principal: Reader, context: Context) -> list[ProjectOut]:
    async with context.db.connection() as conn:
        rows = await store.list_projects(conn, tenant_id=principal.tenant_id)
    return [ProjectOut.model_validate(row) for row in rows]


@router.get("/projects/{project_id}", response_model=ProjectOut)
async def get_project(project_id: UUID, principal: Reader, context: Context) -> ProjectOut:
    async with context.db.connection() as conn:
        row = await store.get_project(conn, tenant_id=principal.tenant_id, project_id=project_id)
    if row is None:
        raise not_found("project", project_id)
    return ProjectOut.model_validate(row)


@router.patch("/projects/{project_id}", response_model=ProjectOut)
async def change_project(
    project_id: UUID, body: ProjectChange, principal: Writer, context: Context
) -> ProjectOut:
    """Rename, describe, archive (no new jobs) or make active again."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise Problem(422, "nothing to change: give name, description or status")
    async with context.db.unit_of_work() as uow:
        row = await store.update_project(
            uow.conn, tenant_id=principal.tenant_id, project_id=project_id, **changes
        )
    if row is None:
        raise not_found("project", project_id)
    return ProjectOut.model_validate(row)


@router.delete("/projects/{project_id}", status_code=204)
async def delete_project(project_id: UUID, principal: Writer, context: Context) -> Response:
    """The project, its jobs and their runs, and everything they made in every store: each run
    is announced as deleted (RunDeleted), as deleting it alone would."""
    async with context.db.unit_of_work() as uow:
        deleted = await commands.delete_project(uow, tenant_id=principal.tenant_id, project_id=project_id)
    if not deleted:
        raise not_found("project", project_id)
    return Response(status_code=204)


@router.get("/projects/{project_id}/activity", response_model=list[ActivityOut])
async def project_activity(
    project_id: UUID,
    principal: Reader,
    context: Context,
    before: Annotated[
        datetime | None, Query(description="only what happened before (the last `at` seen)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ActivityOut]:
    """Newest first: the calls made on the project, its jobs and runs, and what happened to its
    runs (started, completed, failed, cancelled) and their validations."""
    async with context.db.connection() as conn:
        if await store.get_project(conn, tenant_id=principal.tenant_id, project_id=project_id) is None:
            raise not_found("project", project_id)
        rows = await store.project_activity(
            conn, tenant_id=principal.tenant_id, project_id=project_id, before=before, limit=limit
        )
    return [ActivityOut.model_validate(row) for row in rows]
