"""Storing what a page yielded: products and their observations, a record, extractions, tags.

Runs in the unit of work that takes the document in, after its row: every product and record
is stored and announced (one ItemExtracted each) in the same transaction as the document, so
the count its outcome event gives ingest is always the number of ItemExtracted sent. A page
unchanged since the job's earlier run announces again the products and record it had then,
without extracting again (`changed` false).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from services.extractor import store
from services.extractor.domain.items import FoundItems, ItemsPlan, RecordPlan
from services.extractor.domain.outcomes import DocumentRef
from services.extractor.domain.products import product_identity
from services.extractor.domain.records import RecordResult
from services.extractor.domain.records.completion import missing_required, schema_for_llm, wants_llm
from shared.events import ItemExtracted, ItemKind, LlmTaskRequested
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Page(DocumentRef):
    """The document items come from: its run, its bytes' hash."""

    content_hash: str


async def store_items(
    uow: UnitOfWork,
    page: Page,
    found: FoundItems,
    plan: ItemsPlan,
    metadata: dict[str, Any],
    *,
    markdown_key: str | None,
) -> None:
    """The items of a freshly extracted page, its extractions and tags; a record the job wants
    an LLM to complete is asked for (from the page's Markdown)."""
    extractions: list[tuple[str, dict[str, Any], float | None]] = [("article_metadata", metadata, None)]
    if found.products:
        for product in found.products:
            product_hash, basis = product_identity(product, page.url)
            data = product.to_json()
            await _announce_product(uow, page, plan, product_hash, basis, data, product.confidence)
        confidence = max(product.confidence for product in found.products)
        extractions.append(("products", {"products": [p.to_json() for p in found.products]}, confidence))
    if found.record is not None and plan.record is not None:
        record = found.record
        result_id, _ = await _announce_record(
            uow,
            page,
            plan.record,
            data=record.data,
            valid=record.valid,
            errors=record.errors,
            confidence=record.confidence,
            field_confidence=record.field_confidence,
            reused_from=None,
        )
        extractions.append(("schema_record", record.to_json(), record.confidence))
        if markdown_key is not None and wants_llm(plan.llm_extraction, plan.record.definition, record):
            await uow.outbox.publish(_llm_request(page, plan.record, result_id, record, markdown_key))
    await store.insert_extractions(
        uow.conn,
        tenant_id=page.tenant_id,
        run_id=page.run_id,
        document_id=page.document_id,
        extractions=extractions,
    )
    await store.insert_tags(
        uow.conn,
        tenant_id=page.tenant_id,
        run_id=page.run_id,
        document_id=page.document_id,
        tags=[(tag.name, tag.value, tag.source) for tag in found.tags],
    )


async def reannounce_items(uow: UnitOfWork, page: Page, plan: ItemsPlan) -> tuple[int, int]:
    """The items a page unchanged since the job's earlier run had then, observed and announced
    again for this run; returns (found, extracted) as `FoundItems.counts` does."""
    if page.job_id is None or page.url_hash is None:
        return 0, 0
    found = extracted = 0
    for row in await store.previous_products(
        uow.conn,
        tenant_id=page.tenant_id,
        job_id=page.job_id,
        url_hash=page.url_hash,
        content_hash=page.content_hash,
    ):
        await _announce_product(
            uow, page, plan, row["product_hash"], row["identity_basis"], dict(row["data"]), row["confidence"]
        )
        found, extracted = found + 1, extracted + 1
    if plan.record is not None and page.url is not None and plan.wants_record(page.url):
        previous = await store.reusable_result(
            uow.conn,
            tenant_id=page.tenant_id,
            job_id=page.job_id,
            url=page.url,
            content_hash=page.content_hash,
            schema_id=plan.record.schema_id,
            schema_version=plan.record.version,
        )
        if previous is not None:
            _, kept = await _announce_record(
                uow,
                page,
                plan.record,
                data=dict(previous["data"]),
                valid=previous["valid"],
                errors=list(previous["errors"]),
                confidence=previous["confidence_score"],
                field_confidence=dict(previous["field_confidence"]),
                reused_from=previous["id"],
            )
            found, extracted = found + 1, extracted + kept
    return found, extracted


async def _announce_product(
    uow: UnitOfWork,
    page: Page,
    plan: ItemsPlan,
    product_hash: str,
    basis: str,
    data: dict[str, Any],
    confidence: float | None,
) -> None:
    item_id = uuid4()
    _, changed = await store.observe_product(
        uow.conn,
        store.ProductSighting(
            tenant_id=page.tenant_id,
            job_id=page.job_id,
            run_id=page.run_id,
            document_id=page.document_id,
            item_id=item_id,
            url=data.get("url") or page.url,
            product_hash=product_hash,
            identity_basis=basis,
            name=_text(data.get("name")),
            brand=_text(data.get("brand")),
            brand_name=plan.brand_name,
            data=data,
            confidence=confidence,
        ),
    )
    await uow.outbox.publish(
        _item_extracted(
            page,
            item_id,
            ItemKind.PRODUCT,
            data,
            confidence,
            brand_name=plan.brand_name,
            product_hash=product_hash,
            changed=changed,
        )
    )


async def _announce_record(
    uow: UnitOfWork,
    page: Page,
    plan: RecordPlan,
    *,
    data: dict[str, Any],
    valid: bool,
    errors: list[dict[str, str]],
    confidence: float | None,
    field_confidence: dict[str, float],
    reused_from: UUID | None,
) -> tuple[UUID, bool]:
    """Stores and announces the page's record; returns its id and whether it is kept in the results."""
    kept = valid or not plan.strict_validation
    item_id = uuid4()
    await store.insert_result(
        uow.conn,
        store.StoredResult(
            id=item_id,
            tenant_id=page.tenant_id,
            job_id=page.job_id,
            run_id=page.run_id,
            document_id=page.document_id,
            url=page.url,
            schema_id=plan.schema_id,
            schema_version=plan.version,
            data=data,
            valid=valid,
            errors=errors,
            kept=kept,
            content_hash=page.content_hash,
            confidence=confidence,
            field_confidence=field_confidence,
            reused_from=reused_from,
        ),
    )
    await uow.outbox.publish(
        _item_extracted(
            page,
            item_id,
            ItemKind.SCHEMA_RESULT,
            data,
            confidence,
            changed=reused_from is None,
            valid=valid,
            kept=kept,
            errors=errors,
        )
    )
    return item_id, kept


def _llm_request(
    page: Page, plan: RecordPlan, result_id: UUID, record: RecordResult, markdown_key: str
) -> LlmTaskRequested:
    """The llm service is asked to complete the record from the page's Markdown; the result's
    id is the request's, so its answer finds the record (and a redelivery is the same task)."""
    return LlmTaskRequested(
        tenant_id=page.tenant_id,
        job_id=page.job_id,
        run_id=page.run_id,
        request_id=result_id,
        kind="schema_extraction",
        requested_by="extractor",
        document_id=page.document_id,
        input_s3_key=markdown_key,
        input_content_hash=page.content_hash,
        output_schema=schema_for_llm(plan.definition),
        partial=record.data,
        missing=missing_required(plan.definition, record),
    )


def _item_extracted(
    page: Page,
    item_id: UUID,
    kind: ItemKind,
    data: dict[str, Any],
    confidence: float | None,
    **optional: Any,
) -> ItemExtracted:
    return ItemExtracted(
        tenant_id=page.tenant_id,
        job_id=page.job_id,
        run_id=page.run_id,
        item_id=item_id,
        kind=kind,
        data=data,
        content_hash=page.content_hash,
        # A stored confidence comes back from a `real` column as 0.8550000190734863.
        confidence=None if confidence is None else round(confidence, 4),
        source_url=page.url,
        document_id=page.document_id,
        **optional,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
