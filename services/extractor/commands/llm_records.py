"""A record the llm service completed: validated as any record is, the stored one rewritten
(source `llm`), and announced again as the same item (`revises`), so counts and exports take
the new version in place of the old."""

from __future__ import annotations

import json
import logging
from typing import Any

from services.extractor import store
from services.extractor.domain.items import ItemsPlan
from services.extractor.domain.records import RecordResult
from services.extractor.domain.records.completion import completed_record
from shared import runs
from shared.events import ItemExtracted, ItemKind, LlmTaskCompleted
from shared.s3 import ObjectStore
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def take_llm_record(uow: UnitOfWork, objects: ObjectStore, event: LlmTaskCompleted) -> None:
    if event.kind != "schema_extraction" or event.request_id is None:
        return  # a query's answer or a user's task: not a record of ours
    row = await store.result_for_revision(uow.conn, tenant_id=event.tenant_id, result_id=event.request_id)
    if row is None:
        log.info("record %s is gone (its run was deleted); LLM answer dropped", event.request_id)
        return
    plan = ItemsPlan.of(await runs.run_config(uow.conn, run_id=event.run_id, tenant_id=event.tenant_id))
    if plan.record is None:
        return
    answer = event.output if event.output is not None else await _stored_output(objects, event.s3_output_path)
    known = RecordResult(
        dict(row["data"]),
        row["valid"],
        list(row["errors"]),
        row["confidence_score"] or 0.0,
        dict(row["field_confidence"]),
    )
    record = completed_record(
        plan.record.definition, known, answer, allow_extra_fields=plan.record.allow_extra_fields
    )
    kept = record.kept(plan.record.strict_validation)
    await store.revise_result(
        uow.conn,
        result_id=row["id"],
        data=record.data,
        valid=record.valid,
        errors=record.errors,
        kept=kept,
        confidence=record.confidence,
        field_confidence=record.field_confidence,
    )
    await uow.outbox.publish(
        ItemExtracted(
            tenant_id=event.tenant_id,
            job_id=row["job_id"],
            run_id=row["run_id"],
            item_id=row["id"],
            kind=ItemKind.SCHEMA_RESULT,
            data=record.data,
            content_hash=row["content_hash"],
            confidence=record.confidence,
            source_url=row["url"],
            document_id=row["document_id"],
            changed=True,
            valid=record.valid,
            kept=kept,
            errors=record.errors,
            revises=True,
            was_kept=row["kept"],
        )
    )


async def _stored_output(objects: ObjectStore, key: str) -> dict[str, Any]:
    output: dict[str, Any] = json.loads(await objects.get(key))["output"]
    return output
