"""A deleted run goes from the llm service: its sessions, tasks, failures, usage and the outputs
they stored in S3 (those another run's cached tasks share stay until that run goes too)."""

from __future__ import annotations

from uuid import UUID

from services.llm import store
from shared import runs
from shared.s3 import ObjectStore
from shared.uow import UnitOfWork


async def delete_run(uow: UnitOfWork, objects: ObjectStore, *, tenant_id: UUID, run_id: UUID) -> None:
    """Objects are deleted before the unit of work commits: if that fails, the whole deletion
    is retried (deleting an object twice is harmless), so no row is left pointing at nothing."""
    keys = await store.outputs_only_this_run_references(uow.conn, tenant_id=tenant_id, run_id=run_id)
    await store.forget_run(uow.conn, tenant_id=tenant_id, run_id=run_id)
    await runs.forget_run(uow.conn, tenant_id=tenant_id, run_id=run_id)
    if keys:
        await objects.delete_many(keys)
