"""A user's LLM task over a run's documents, items or search hits: one LlmTaskRequested per
document with text (pointing at its Markdown in S3), per item (its data, inline) or per hit of
a search within the run (its URL, title and text, inline), all in the session the user was
given. The request ids derive from the user's request, so asking again asks for the same tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from services.extractor import store
from services.extractor.commands.search import search
from services.extractor.pipeline import Pipeline
from shared.db import Connection
from shared.events import LlmTaskRequested
from shared.llm_api import TasksRequested, UserTask
from shared.search_api import SearchRequest
from shared.uow import Database

_OBJECT_SCHEMA = {"type": "object"}
# What an item is, not how sure the extractor was of it: an unchanged item costs nothing twice.
_NOT_THE_ITEM = ("confidence", "sources", "field_confidence")


@dataclass(frozen=True)
class _Input:
    """What one task is asked of: a stored text, or an input carried in the request."""

    id: UUID
    document_id: UUID | None
    job_id: UUID | None
    inline: dict[str, Any] | None = None
    s3_key: str = ""
    content_hash: str = ""


async def ask_about_run(
    db: Database, pipeline: Pipeline, *, run_id: UUID, task: UserTask
) -> TasksRequested | None:
    """None: the run is not the tenant's, or has nothing of that source (yet)."""
    hits = await _hits(db, pipeline, run_id, task) if task.source == "search_hits" else []
    async with db.unit_of_work() as uow:
        if task.source == "documents":
            inputs = await _documents(uow.conn, run_id, task)
        elif task.source == "items":
            inputs = await _items(uow.conn, run_id, task)
        else:
            inputs = hits
        if not inputs:
            return None
        await uow.outbox.publish_many(
            [
                LlmTaskRequested(
                    tenant_id=task.tenant_id,
                    job_id=unit.job_id,
                    run_id=run_id,
                    request_id=uuid5(NAMESPACE_URL, f"{task.request_id}/{unit.id}"),
                    kind="on_demand",
                    requested_by="api",
                    session_id=task.session_id,
                    document_id=unit.document_id,
                    input_s3_key=unit.s3_key,
                    input_content_hash=unit.content_hash,
                    input=unit.inline,
                    prompt=task.prompt,
                    output_schema=task.output_schema or _OBJECT_SCHEMA,
                )
                for unit in inputs
            ]
        )
    return TasksRequested(session_id=task.session_id, source=task.source, requested=len(inputs))


async def _documents(conn: Connection, run_id: UUID, task: UserTask) -> list[_Input]:
    rows = await store.documents_with_text(conn, tenant_id=task.tenant_id, run_id=run_id, limit=task.limit)
    return [
        _Input(
            row["id"], row["id"], row["job_id"], s3_key=row["markdown_key"], content_hash=row["content_hash"]
        )
        for row in rows
    ]


async def _items(conn: Connection, run_id: UUID, task: UserTask) -> list[_Input]:
    rows = await store.run_items(
        conn,
        tenant_id=task.tenant_id,
        run_id=run_id,
        kind=task.item_kind,
        valid=None,
        after=None,
        limit=task.limit,
    )
    return [_Input(row["item_id"], row["document_id"], task.job_id, inline=_item(row)) for row in rows]


def _item(row: Any) -> dict[str, Any]:
    data = {key: value for key, value in dict(row["data"]).items() if key not in _NOT_THE_ITEM}
    return {"kind": row["kind"], "url": row["url"], "data": data}


async def _hits(db: Database, pipeline: Pipeline, run_id: UUID, task: UserTask) -> list[_Input]:
    """The hits of the task's search within the run, each with what was found."""
    if task.search is None:
        return []
    asked = SearchRequest(
        **task.search.model_dump(exclude={"run_id"}), run_id=run_id, tenant_id=task.tenant_id
    )
    found = await search(db, pipeline, asked)
    return [
        _Input(
            hit.chunk_id,
            hit.document_id,
            hit.job_id,
            inline={"url": hit.url, "title": hit.title, "text": hit.text},
        )
        for hit in found.hits
    ]
