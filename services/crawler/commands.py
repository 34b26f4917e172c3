"""What changes the crawler's state and what it owes other services, in the caller's unit of
work: the handlers start, cancel and delete crawls and ask for validations through here, the
committer commits fetch outcomes and the scheduler completes the runs that finished."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.crawler import expansions, store
from services.crawler.domain.discovery import seeds
from services.crawler.domain.images import phash_hex
from services.crawler.domain.known_urls import KnownUrls
from services.crawler.domain.outcomes import Outcome, counters, duplicate, frontier_update
from services.crawler.domain.records import ImageRow, NewUrl, PageRow
from services.crawler.domain.search_results import planned_searches
from shared import runs
from shared.events import (
    CrawlProgress,
    Event,
    ImageStored,
    JobCreated,
    KeywordExpansion,
    PageFetched,
    RunCompleted,
    RunStatus,
    TaskFailed,
    ValidationProgressed,
    ValidationRequested,
)
from shared.s3 import ObjectStore
from shared.uow import UnitOfWork

MAX_ID_URL_CHARS = 2000


@dataclass(frozen=True)
class Committed:
    enqueued: dict[UUID, list[str]]  # per run, the hashes of the URLs sent to its frontier
    bytes_fetched: int  # by the outcomes written (not those whose lease was lost)


async def start_crawl(uow: UnitOfWork, event: JobCreated, *, expansion_wait_seconds: float) -> None:
    """Register the run, seed its durable frontier and plan its keywords' searches (and their
    expansions'); the workers take it from there (the searcher seeds the frontier with what the
    searches find)."""
    if not await runs.remember_run(uow.conn, event):
        return
    limits = event.config.limits
    await store.create_crawl_run(
        uow.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        job_id=event.job_id,
        max_pages=limits.max_pages,
        max_depth=limits.max_depth,
        project_id=event.config.project_id,
    )
    await store.enqueue(uow.conn, run_id=event.run_id, tenant_id=event.tenant_id, urls=seeds(event.config))
    searches = planned_searches(event.config)
    await store.add_searches(uow.conn, run_id=event.run_id, tenant_id=event.tenant_id, searches=searches)
    await expansions.plan_expansion(uow, event, wait_seconds=expansion_wait_seconds)


async def request_validation(uow: UnitOfWork, event: ValidationRequested) -> None:
    """A validation job of the run's images as they are now; the validator takes it from
    there. A run the crawler does not know (deleted meanwhile) fails the job at once."""
    created = await store.create_validation(
        uow.conn,
        validation_id=event.validation_id,
        tenant_id=event.tenant_id,
        run_id=event.run_id,
        rules=event.rules.model_dump(mode="json"),
    )
    if created or await store.run_known(uow.conn, tenant_id=event.tenant_id, run_id=event.run_id):
        return
    await uow.outbox.publish(
        ValidationProgressed(
            tenant_id=event.tenant_id,
            validation_id=event.validation_id,
            run_id=event.run_id,
            status="failed",
            total=0,
            validated=0,
            invalid=0,
            error_message=f"the crawler has no run {event.run_id}: it holds no images to validate",
            completed_at=datetime.now(UTC),
        )
    )


async def cancel_crawl(uow: UnitOfWork, *, tenant_id: UUID, run_id: UUID) -> None:
    """Workers stop taking the run's URLs within a second (they poll run status)."""
    await runs.cancel_run(uow.conn, run_id=run_id, tenant_id=tenant_id)
    await store.set_crawl_status(uow.conn, run_id=run_id, tenant_id=tenant_id, status="cancelled")


async def delete_crawl(uow: UnitOfWork, objects: ObjectStore, *, tenant_id: UUID, run_id: UUID) -> None:
    """Rows go with the run; its stored objects too, unless another run's pages use them.
    Objects are deleted before the unit of work commits: if that fails, the whole deletion is
    retried (deleting an object twice is harmless), so no row is left pointing at nothing."""
    keys = await store.objects_only_this_run_references(uow.conn, run_id=run_id, tenant_id=tenant_id)
    await runs.forget_run(uow.conn, tenant_id=tenant_id, run_id=run_id)
    if keys:
        await objects.delete_many(keys)


async def commit_outcomes(
    uow: UnitOfWork,
    outcomes: Sequence[Outcome],
    *,
    owner: UUID,
    known: KnownUrls,
    progress_interval: float,
) -> Committed:
    """Write what many fetches found: frontier states, page and image rows, newly found URLs
    (those `known` to be in the frontier are not sent again), counters, and their events —
    PageFetched, TaskFailed, then CrawlProgress and RunCompleted of the runs concerned.
    Outcomes whose lease this worker lost (it expired and the URL was leased again) are
    dropped; unfetched leases go back to the queue."""
    conn = uow.conn
    released = [o.item.id for o in outcomes if o.state == "released"]
    if released:
        await store.release_leases(conn, owner=owner, ids=released)
    decided = [o for o in outcomes if o.state != "released"]
    held = await store.still_leased(conn, owner=owner, ids=sorted(o.item.id for o in decided))
    decided = [o for o in decided if o.item.id in held]
    duplicates = await store.insert_pages(conn, [o.page for o in decided if o.page is not None])
    decided = [duplicate(o) if o.page and o.page.url_hash in duplicates else o for o in decided]
    await store.update_frontier(conn, [frontier_update(o) for o in decided])
    await store.insert_images(conn, [o.image for o in decided if o.image is not None])
    events = [event for o in decided for event in _events_of(o, uow.service)]
    by_run: dict[UUID, list[Outcome]] = defaultdict(list)
    for outcome in decided:
        by_run[outcome.item.run_id].append(outcome)
    enqueued = {
        run_id: await _commit_run(uow, run_id, run_outcomes, known) for run_id, run_outcomes in by_run.items()
    }
    events += await _progress_reports(uow, list(by_run), progress_interval)
    events += await _completions(uow, list(by_run))
    if events:
        await uow.outbox.publish_many(events)
    return Committed(enqueued, sum(o.bytes for o in decided))


async def complete_finished_runs(uow: UnitOfWork) -> None:
    """Complete every run that finished, whichever worker's outcomes finished it."""
    events = await _completions(uow, None)
    if events:
        await uow.outbox.publish_many(events)


async def _commit_run(
    uow: UnitOfWork, run_id: UUID, outcomes: Sequence[Outcome], known: KnownUrls
) -> list[str]:
    """One run's share of a batch: the URLs it found, its counters, the end of its url_pattern;
    returns the hashes of the URLs sent to its frontier."""
    new = _not_known(run_id, outcomes, known)
    await store.enqueue(uow.conn, run_id=run_id, tenant_id=outcomes[0].item.tenant_id, urls=new)
    await store.add_counters(uow.conn, run_id, counters(outcomes))
    for outcome in outcomes:
        if outcome.end_pattern and outcome.item.page_number is not None:
            await store.skip_pattern_pages_after(
                uow.conn, run_id=run_id, page_number=outcome.item.page_number, reason="pagination_end"
            )
    return [url.url_hash for url in new]


def _not_known(run_id: UUID, outcomes: Sequence[Outcome], known: KnownUrls) -> list[NewUrl]:
    """The URLs the outcomes found, once each, but those known to be in the run's frontier."""
    found = {u.url_hash: u for o in outcomes for u in o.discovered if not known.has(run_id, u.url_hash)}
    return list(found.values())


def _events_of(outcome: Outcome, service: str) -> list[Event]:
    item = outcome.item
    events: list[Event] = []
    if outcome.page is not None:
        events.append(_page_fetched(outcome.page))
    if outcome.image is not None and outcome.image.s3_key is not None:
        events.append(_image_stored(outcome.image, item.job_id))
    if outcome.error is not None:
        events.append(
            TaskFailed.now(
                service=service,
                tenant_id=item.tenant_id,
                task_kind="fetch",
                error=outcome.error,
                attempts=item.attempts + 1,
                job_id=item.job_id,
                run_id=item.run_id,
                ids={"url": item.url[:MAX_ID_URL_CHARS], "url_hash": item.url_hash},
            )
        )
    return events


def _page_fetched(page: PageRow) -> PageFetched:
    return PageFetched(
        tenant_id=page.tenant_id,
        job_id=page.job_id,
        run_id=page.run_id,
        url=page.url,
        final_url=page.final_url,
        url_hash=page.url_hash,
        status=page.status,
        content_type=page.content_type,
        content_hash=page.content_hash,
        s3_key=page.s3_key,
        size=page.bytes,
        depth=page.depth,
        fetched_at=datetime.now(UTC),
        unchanged=page.unchanged,
    )


def _image_stored(image: ImageRow, job_id: UUID) -> ImageStored:
    assert image.s3_key is not None and image.sha256 is not None
    return ImageStored(
        tenant_id=image.tenant_id,
        job_id=job_id,
        run_id=image.run_id,
        image_key=image.url_hash,
        url=image.url,
        page_url=image.page_url,
        alt_text=image.alt_text,
        label=image.label,
        width=image.width,
        height=image.height,
        format=image.format,
        bytes=image.bytes,
        sha256=image.sha256,
        phash=phash_hex(image.phash),
        exif_orientation=image.exif_orientation,
        decode_error=image.decode_error,
        s3_key=image.s3_key,
        thumbnail_key=image.thumbnail_key,
        provenance=image.provenance,
        stored_at=datetime.now(UTC),
    )


async def _progress_reports(uow: UnitOfWork, run_ids: list[UUID], every_seconds: float) -> list[Event]:
    """CrawlProgress of the runs not reported for `every_seconds`."""
    return [_progress(row) for row in await store.claim_progress_reports(uow.conn, run_ids, every_seconds)]


async def _completions(uow: UnitOfWork, run_ids: list[UUID] | None) -> list[Event]:
    """For each run that just finished (exactly once: the status flips once), its final
    progress, whatever the report interval, and RunCompleted."""
    events: list[Event] = []
    for row in await store.complete_finished_runs(uow.conn, run_ids):
        events.append(_progress(row))
        events.append(
            RunCompleted.now(
                service=uow.service,
                tenant_id=row["tenant_id"],
                job_id=row["job_id"],
                run_id=row["run_id"],
                status=RunStatus.COMPLETED,
                counters={name: row[name] for name in _COMPLETION_COUNTERS},
            )
        )
    return events


def _progress(row: Any) -> CrawlProgress:
    return CrawlProgress(
        tenant_id=row["tenant_id"],
        job_id=row["job_id"],
        run_id=row["run_id"],
        pages_crawled=row["pages_crawled"],
        pages_failed=row["pages_failed"],
        pages_skipped=row["pages_skipped"],
        pages_total=row["pages_total"],
        current_depth=row["current_depth"],
        in_flight=row["in_flight"],
        reported_at=datetime.now(UTC),
        refusals=row["refusals"],
        keyword_expansion=None
        if row["expansion_state"] is None
        else KeywordExpansion(
            state=row["expansion_state"],
            note=row["expansion_note"],
            expanded_keywords=row["expanded_keywords"],
        ),
    )


_COMPLETION_COUNTERS = (
    "pages_published",
    "pages_crawled",
    "pages_failed",
    "pages_skipped",
    "pages_unchanged",
    "pages_total",
    "images_stored",
    "error_count",
    "bytes_fetched",
)
