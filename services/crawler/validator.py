"""The validator: validation jobs, a batch of a run's images at a time.

A job is leased like a URL, so a crash loses none: another worker (or the restarted one) takes
it up where its last committed batch ended, rebuilding the originals copies are compared
with from the verdicts already stored. Each batch's verdicts, the job's counters and its
events — ImagesValidated (the verdicts, for the exporter) and ValidationProgressed (for
ingest) — are written in one unit of work. Judging is pure and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from services.crawler import store
from services.crawler.domain.validation import Originals, Verdict, judge
from shared.events import (
    DuplicateScope,
    ImagesValidated,
    ImageVerdict,
    ValidationProgressed,
    ValidationRules,
)
from shared.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

BATCH = 500
LEASE_SECONDS = 60.0
IDLE_POLL = 0.5


class Validator:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._owner = uuid.uuid4()

    async def run(self) -> None:
        while True:
            if not await self.validate_once():
                await asyncio.sleep(IDLE_POLL)

    async def validate_once(self) -> bool:
        """Take one open job to its end (or until its lease is lost); False when none was open."""
        async with self._db.unit_of_work() as uow:
            job = await store.lease_validation(uow.conn, owner=self._owner, lease_seconds=LEASE_SECONDS)
        if job is None:
            return False
        try:
            await self._validate(job)
        except Exception as exc:  # a bug: the job fails with its reason rather than loop forever
            log.exception("validation %s failed", job["validation_id"])
            async with self._db.unit_of_work() as uow:
                await self._finish(uow, job, "failed", f"{type(exc).__name__}: {exc}")
        return True

    async def _validate(self, job: Any) -> None:
        rules = ValidationRules.model_validate(job["rules"])
        originals = await self._originals(job, rules)
        last = job["last_image_id"]
        while True:
            async with self._db.connection() as conn:
                batch = await store.images_to_judge(
                    conn, run_id=job["run_id"], after_id=last, upto_id=job["max_image_id"], limit=BATCH
                )
            if not batch:
                async with self._db.unit_of_work() as uow:
                    await self._finish(uow, job, "completed", None)
                return
            verdicts = await asyncio.to_thread(judge, batch, rules, originals)
            async with self._db.unit_of_work() as uow:
                advanced = await store.record_verdicts(
                    uow.conn,
                    validation_id=job["validation_id"],
                    tenant_id=job["tenant_id"],
                    owner=self._owner,
                    verdicts=verdicts,
                    lease_seconds=LEASE_SECONDS,
                )
                if advanced is None:
                    return  # another worker holds the job now
                await uow.outbox.publish(_validated(job, verdicts))
                await uow.outbox.publish(await _progress(uow, advanced, "running"))
            last = advanced["last_image_id"]

    async def _originals(self, job: Any, rules: ValidationRules) -> Originals:
        """What copies are compared with: the project's other runs' images (for project-wide
        duplicates), then the images this job already found valid (when it resumes)."""
        async with self._db.connection() as conn:
            earlier = []
            if rules.duplicates is DuplicateScope.PROJECT and job["project_id"] is not None:
                earlier = await store.project_images(
                    conn, tenant_id=job["tenant_id"], project_id=job["project_id"], run_id=job["run_id"]
                )
            valid = await store.found_valid(
                conn, validation_id=job["validation_id"], upto_id=job["last_image_id"]
            )
        return Originals([*earlier, *valid])

    async def _finish(self, uow: UnitOfWork, job: Any, status: str, error: str | None) -> None:
        finished = await store.finish_validation(
            uow.conn, validation_id=job["validation_id"], owner=self._owner, status=status, error=error
        )
        if finished is not None:
            await uow.outbox.publish(await _progress(uow, finished, status))


def _validated(job: Any, verdicts: list[Verdict]) -> ImagesValidated:
    return ImagesValidated(
        tenant_id=job["tenant_id"],
        validation_id=job["validation_id"],
        run_id=job["run_id"],
        verdicts=[
            ImageVerdict(
                image_key=v.image.image_key,
                valid=v.valid,
                reasons=list(v.reasons),
                duplicate_of=None if v.duplicate_of is None else v.duplicate_of.image_key,
                duplicate_of_run_id=None if v.duplicate_of is None else v.duplicate_of.run_id,
            )
            for v in verdicts
        ],
    )


async def _progress(uow: UnitOfWork, job: Any, status: str) -> ValidationProgressed:
    return ValidationProgressed(
        tenant_id=job["tenant_id"],
        validation_id=job["validation_id"],
        run_id=job["run_id"],
        status=status,
        total=job["total"],
        validated=job["validated"],
        invalid=job["invalid"],
        reasons=await store.reasons_histogram(uow.conn, validation_id=job["validation_id"]),
        error_message=job["error_message"],
        started_at=job["started_at"],
        completed_at=job["completed_at"] if status != "running" else None,
    )
