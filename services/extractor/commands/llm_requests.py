"""A user's LLM task over a run's documents: one LlmTaskRequested per document with text, each
pointing at the document's Markdown in S3, all in the session the user was given. The request
ids derive from the user's request, so asking again asks for the same tasks."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from services.extractor import store
from shared.events import LlmTaskRequested
from shared.llm_api import DocumentsTask, TasksRequested
from shared.uow import Database

_OBJECT_SCHEMA = {"type": "object"}


async def ask_about_documents(db: Database, *, run_id: UUID, task: DocumentsTask) -> TasksRequested | None:
    """None: the run is not the tenant's (or has no documents yet)."""
    async with db.unit_of_work() as uow:
        documents = await store.documents_with_text(
            uow.conn, tenant_id=task.tenant_id, run_id=run_id, limit=task.limit
        )
        if not documents:
            return None
        for document in documents:
            await uow.outbox.publish(
                LlmTaskRequested(
                    tenant_id=task.tenant_id,
                    job_id=document["job_id"],
                    run_id=document["run_id"],
                    request_id=uuid5(NAMESPACE_URL, f"{task.request_id}/{document['id']}"),
                    kind="on_demand",
                    requested_by="api",
                    session_id=task.session_id,
                    document_id=document["id"],
                    input_s3_key=document["markdown_key"],
                    input_content_hash=document["content_hash"],
                    prompt=task.prompt,
                    output_schema=task.output_schema or _OBJECT_SCHEMA,
                )
            )
    return TasksRequested(session_id=task.session_id, requested=len(documents))
