"""Image datasets (seed 004): the images a run keeps, and the validation jobs that judge them.

The crawler owns images: it publishes each stored image's record (ImageStored) and runs the
validation jobs ingest asks for (ValidationRequested), publishing the verdicts in batches
(ImagesValidated, for the exporter's image datasets) and the job's progress
(ValidationProgressed, for ingest's read model and the project's activity feed).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from shared.events.base import Contract, Event


class ImageStored(Event):
    """An image a run kept: its bytes in S3 (content-addressed), what decoding found."""

    event_name = "image-stored"
    job_id: UUID
    run_id: UUID
    image_key: str = Field(description="the image's id within its run (its canonical URL's hash)")
    url: str
    page_url: str | None = Field(description="the page it was found on (or that the search named)")
    alt_text: str | None
    label: str | None = Field(description="the keyword whose search found it")
    width: int | None
    height: int | None
    format: str | None
    bytes: int = Field(ge=0)
    sha256: str
    phash: str | None = Field(description="ImageHash pHash, 16 hex digits")
    exif_orientation: int | None
    decode_error: str | None = Field(description="corrupt or truncated; None when it decodes")
    s3_key: str
    thumbnail_key: str | None
    provenance: dict[str, Any] | None = None
    stored_at: datetime


class DuplicateScope(StrEnum):
    NONE = "none"
    RUN = "run"
    PROJECT = "project"


class ValidationRules(Contract):
    """What makes an image valid. Every rule left unset is not checked."""

    min_width: int | None = Field(default=None, ge=1)
    max_width: int | None = Field(default=None, ge=1)
    min_height: int | None = Field(default=None, ge=1)
    max_height: int | None = Field(default=None, ge=1)
    min_aspect_ratio: float | None = Field(default=None, gt=0, description="width / height")
    max_aspect_ratio: float | None = Field(default=None, gt=0, description="width / height")
    formats: list[str] = Field(default_factory=list, max_length=20, description="allowed: jpeg, png, webp...")
    max_bytes: int | None = Field(default=None, ge=1)
    must_decode: bool = Field(default=True, description="truncated and corrupt files are invalid")
    reject_blank: bool = Field(default=True, description="blank or near-uniform images are invalid")
    blank_max_stddev: float = Field(
        default=4.0,
        ge=0,
        le=128,
        description="grey-level standard deviation at or under which an image is blank",
    )
    duplicates: DuplicateScope = Field(
        default=DuplicateScope.RUN,
        description="where an exact or near copy of a valid image makes one invalid",
    )
    near_duplicate_distance: int | None = Field(
        default=10,
        ge=0,
        le=32,
        description="pHash Hamming distance at or under which two images are near copies",
    )

    @model_validator(mode="after")
    def _ranges(self) -> ValidationRules:
        for low, high in (("min_width", "max_width"), ("min_height", "max_height")):
            least, most = getattr(self, low), getattr(self, high)
            if least is not None and most is not None and least > most:
                raise ValueError(f"{low} is larger than {high}")
        if self.min_aspect_ratio and self.max_aspect_ratio and self.min_aspect_ratio > self.max_aspect_ratio:
            raise ValueError("min_aspect_ratio is larger than max_aspect_ratio")
        return self


class ValidationRequested(Event):
    """A validation job over a run's images was asked for."""

    event_name = "validation-requested"
    validation_id: UUID
    run_id: UUID
    rules: ValidationRules
    requested_at: datetime


class ImageVerdict(Contract):
    image_key: str
    valid: bool
    reasons: list[str] = Field(default_factory=list, description="every rule the image breaks")
    duplicate_of: str | None = Field(default=None, description="the image_key of the image it copies")
    duplicate_of_run_id: UUID | None = Field(default=None, description="the run of that image")


class ImagesValidated(Event):
    """A batch of a validation job's verdicts, in image order."""

    event_name = "images-validated"
    validation_id: UUID
    run_id: UUID
    verdicts: list[ImageVerdict]


class ValidationProgressed(Event):
    """Where a validation job stands; the last one says completed (or failed)."""

    event_name = "validation-progressed"
    validation_id: UUID
    run_id: UUID
    status: Literal["running", "completed", "failed"]
    total: int = Field(ge=0)
    validated: int = Field(ge=0)
    invalid: int = Field(ge=0)
    reasons: dict[str, int] = Field(default_factory=dict, description="invalid images by reason")
    error_message: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
