"""What an LLM task is: where it comes from, what makes it the same task twice, what it sends.

A task is one of a run's queries over one of its products (seed 000; a product seen again in
the same run is the same task), an LLM schema extraction the extractor asks for, a task a user
asks for through the API (over a document, an item or a search hit), or a keyword job's
expansions the crawler asks for; the last three are the same task when their request is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from services.llm.domain.prompts import cache_key, content_hash

TaskKind = Literal["query", "schema_extraction", "on_demand", "keyword_expansion"]


@dataclass(frozen=True)
class Query:
    id: UUID
    name: str
    prompt: str
    output_schema: dict[str, Any] | None


@dataclass(frozen=True)
class NewTask:
    id: UUID
    tenant_id: UUID
    session_id: UUID
    job_id: UUID | None
    run_id: UUID
    kind: TaskKind
    dedupe_key: str
    prompt: str
    output_schema: dict[str, Any] | None
    input: dict[str, Any]  # what is sent: a product's data, or where the text is and the record so far
    input_hash: str
    model: str
    cache_key: str
    query: Query | None = None
    product_hash: str | None = None
    product_name: str | None = None
    document_id: UUID | None = None
    request_id: UUID | None = None


@dataclass(frozen=True)
class LeasedTask:
    """A task one llm process holds until `lease_id` expires."""

    id: UUID
    lease_id: UUID
    tenant_id: UUID
    session_id: UUID
    job_id: UUID | None
    run_id: UUID
    kind: TaskKind
    prompt: str
    output_schema: dict[str, Any] | None
    input: dict[str, Any]
    model: str
    cache_key: str
    attempts: int  # this one included
    query_id: UUID | None
    query_name: str | None
    product_hash: str | None
    document_id: UUID | None
    request_id: UUID | None


def query_task(
    task_id: UUID,
    *,
    tenant_id: UUID,
    session_id: UUID,
    job_id: UUID | None,
    run_id: UUID,
    query: Query,
    product_hash: str,
    product: dict[str, Any],
    model: str,
    max_tokens: int,
) -> NewTask:
    """A run's query over one of its products."""
    # What the product is, not where or when it was seen: an unchanged product costs nothing.
    item = {
        key: value
        for key, value in product.items()
        if key not in ("confidence", "sources", "field_confidence")
    }
    input_hash = content_hash(item)
    return NewTask(
        id=task_id,
        tenant_id=tenant_id,
        session_id=session_id,
        job_id=job_id,
        run_id=run_id,
        kind="query",
        dedupe_key=f"query:{run_id}:{query.id}:{product_hash}",
        prompt=query.prompt,
        output_schema=query.output_schema,
        input={"item": item},
        input_hash=input_hash,
        model=model,
        cache_key=cache_key(
            input_hash=input_hash,
            prompt=query.prompt,
            schema=query.output_schema,
            model=model,
            max_tokens=max_tokens,
        ),
        query=query,
        product_hash=product_hash,
        product_name=item.get("name") if isinstance(item.get("name"), str) else None,
    )


def requested_task(
    task_id: UUID,
    *,
    tenant_id: UUID,
    session_id: UUID,
    job_id: UUID | None,
    run_id: UUID,
    kind: TaskKind,
    request_id: UUID,
    prompt: str | None,
    output_schema: dict[str, Any],
    input_s3_key: str,
    input_content_hash: str,
    partial: dict[str, Any],
    document_id: UUID | None,
    model: str,
    max_tokens: int,
    inline: dict[str, Any] | None = None,
) -> NewTask:
    """A schema extraction or a user's task over a stored text; or a task over an input the
    request carries (an item, a search hit, a job's keywords), sent as it is."""
    text = prompt or ""
    if inline is not None:
        given: dict[str, Any] = {"item": inline}
        input_hash = content_hash(inline)
    else:
        given = {"s3_key": input_s3_key, "partial": partial}
        input_hash = content_hash({"text": input_content_hash, "partial": partial})
    return NewTask(
        id=task_id,
        tenant_id=tenant_id,
        session_id=session_id,
        job_id=job_id,
        run_id=run_id,
        kind=kind,
        dedupe_key=f"request:{request_id}",
        prompt=text,
        output_schema=output_schema,
        input=given,
        input_hash=input_hash,
        model=model,
        cache_key=cache_key(
            input_hash=input_hash, prompt=text, schema=output_schema, model=model, max_tokens=max_tokens
        ),
        document_id=document_id,
        request_id=request_id,
    )


def cost_of(
    prompt_tokens: int, completion_tokens: int, *, prompt_price: float, completion_price: float
) -> float:
    """USD at the configured prices per million tokens."""
    return round((prompt_tokens * prompt_price + completion_tokens * completion_price) / 1_000_000, 6)
