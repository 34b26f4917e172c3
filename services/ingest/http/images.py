"""Image datasets (seed 004): a run's images with their verdicts and presigned links, and the
validation jobs that judge them. The crawler owns images and runs the validations; ingest keeps
each validation's state from the crawler's progress events and asks it for the images."""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import Query

from services.ingest import commands, store
from services.ingest.http.deps import Context, Principal, Reader, Writer
from services.ingest.http.internal import ask, tenant_params
from services.ingest.http.models import ImageOut, ImagesOut, ValidationIn, ValidationOut
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router
from services.ingest.http.runs import load_run
from shared.internal_api import MAX_RUN_IMAGES, RUN_IMAGES_PATH, RunImage, RunImages
from shared.s3 import ObjectStore, tenant_key

router = api_router("images and validations")

LINK_SECONDS = 3600
_REASON = r"^[a-z_]{1,40}$"


@router.post("/runs/{run_id}/validations", response_model=ValidationOut, status_code=202)
async def request_validation(
    run_id: UUID, body: ValidationIn, principal: Writer, context: Context
) -> ValidationOut:
    """Judge the run's images (those it holds now) against `rules`; every image gets valid or
    invalid with every reason. Another validation with other rules is a new job; listings and
    exports use the latest completed one unless told otherwise."""
    await load_run(context, principal, run_id)  # another tenant's run: 404
    async with context.db.unit_of_work() as uow:
        row = await commands.request_validation(
            uow, tenant_id=principal.tenant_id, run_id=run_id, name=body.name, rules=body.rules
        )
    return ValidationOut.of(row)


@router.get("/runs/{run_id}/validations", response_model=list[ValidationOut])
async def run_validations(run_id: UUID, principal: Reader, context: Context) -> list[ValidationOut]:
    await load_run(context, principal, run_id)
    async with context.db.connection() as conn:
        rows = await store.run_validations(conn, tenant_id=principal.tenant_id, run_id=run_id)
    return [ValidationOut.of(row) for row in rows]


@router.get("/validations/{validation_id}", response_model=ValidationOut)
async def get_validation(validation_id: UUID, principal: Reader, context: Context) -> ValidationOut:
    async with context.db.connection() as conn:
        row = await store.get_validation(conn, tenant_id=principal.tenant_id, validation_id=validation_id)
    if row is None:
        raise not_found("validation", validation_id)
    return ValidationOut.of(row)


@router.get(
    "/runs/{run_id}/images",
    response_model=ImagesOut,
    responses={503: {"description": "the crawler did not answer"}},
)
async def run_images(
    run_id: UUID,
    principal: Reader,
    context: Context,
    valid: Annotated[bool | None, Query(description="only valid (true) or invalid (false) images")] = None,
    label: Annotated[str | None, Query(max_length=300, pattern=r"^[^\x00]*$")] = None,
    reason: Annotated[str | None, Query(pattern=_REASON, description="only images invalid for it")] = None,
    validation_id: Annotated[UUID | None, Query(description="whose verdicts (default: the latest)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RUN_IMAGES)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
) -> ImagesOut:
    """The run's stored images in the order they were found, each with its verdict, presigned
    links to the file and its thumbnail, and the rejection reasons' histogram."""
    await load_run(context, principal, run_id)
    params = tenant_params(
        principal.tenant_id,
        valid=None if valid is None else str(valid).lower(),
        label=label,
        reason=reason,
        validation_id=None if validation_id is None else str(validation_id),
        limit=limit,
        cursor=cursor,
    )
    url = context.settings.crawler_url + RUN_IMAGES_PATH.format(run_id=run_id)
    reply = await ask(context, "crawler", url, params=params)
    if reply is None:
        raise not_found("validation" if validation_id is not None else "run", validation_id or run_id)
    page = RunImages.model_validate_json(reply.content)
    images = await asyncio.gather(*(_with_links(context.objects, principal, image) for image in page.images))
    return ImagesOut(
        images=list(images),
        next_cursor=page.next_cursor,
        validation_id=page.validation_id,
        validation_status=page.validation_status,
        reasons=page.reasons,
    )


async def _with_links(objects: ObjectStore, principal: Principal, image: RunImage) -> ImageOut:
    """Links only to the caller's own objects (keys under its tenant's prefix)."""
    own = tenant_key(principal.tenant_id) + "/"
    if not image.s3_key.startswith(own) or not (image.thumbnail_key or own).startswith(own):
        raise Problem(500, "an image of this run is stored outside its tenant's space")
    file_url = await objects.presigned_get(image.s3_key, expires_in=LINK_SECONDS)
    thumbnail_url = None
    if image.thumbnail_key is not None:
        thumbnail_url = await objects.presigned_get(image.thumbnail_key, expires_in=LINK_SECONDS)
    fields = image.model_dump(exclude={"s3_key", "thumbnail_key", "content_type"})
    return ImageOut(**fields, file_url=file_url, thumbnail_url=thumbnail_url)
