"""Validation jobs (seed 004): each image of a run judged against rules, with every reason.

An image's own reasons come from the facts recorded when it was fetched — size, format,
bytes, whether it decoded fully, how uniform it is — so judging needs no second download.
Copies are judged in image order against the *originals*: the images found valid so far in
the run (and, for `duplicates: project`, the images of the project's other runs). An exact
copy has the same SHA-256; a near copy a pHash within `near_duplicate_distance` bits. An image
invalid for its own reasons does not become an original: the next copy of it may be kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

import numpy as np

from services.crawler.domain.images import normalise_format
from shared.events import DuplicateScope, ValidationRules

_BITS = (1 << 64) - 1

# The order reasons are listed in, most fundamental first.
REASONS = (
    "corrupt",
    "truncated",
    "format_not_allowed",
    "too_many_bytes",
    "too_narrow",
    "too_wide",
    "too_short",
    "too_tall",
    "aspect_ratio",
    "blank",
    "duplicate",
    "near_duplicate",
)


@dataclass(frozen=True)
class Candidate:
    """A stored image as validation sees it."""

    id: int
    run_id: UUID
    image_key: str
    sha256: str
    phash: int | None
    width: int | None
    height: int | None
    format: str | None
    bytes: int
    decode_error: str | None
    pixel_stddev: float | None


@dataclass(frozen=True)
class Verdict:
    image: Candidate
    valid: bool
    reasons: tuple[str, ...]
    duplicate_of: Candidate | None = None


def own_reasons(image: Candidate, rules: ValidationRules) -> list[str]:
    """What is wrong with the image itself, whatever else the run holds."""
    reasons: list[str] = []
    if image.decode_error is not None and rules.must_decode:
        reasons.append(image.decode_error)
    allowed = {normalise_format(name) for name in rules.formats}
    if allowed and (image.format is None or normalise_format(image.format) not in allowed):
        reasons.append("format_not_allowed")
    if rules.max_bytes is not None and image.bytes > rules.max_bytes:
        reasons.append("too_many_bytes")
    if image.width is not None and image.height is not None:
        reasons += _size_reasons(image.width, image.height, rules)
    if rules.reject_blank and image.pixel_stddev is not None and image.pixel_stddev <= rules.blank_max_stddev:
        reasons.append("blank")
    return reasons


def _size_reasons(width: int, height: int, rules: ValidationRules) -> list[str]:
    reasons = []
    if rules.min_width is not None and width < rules.min_width:
        reasons.append("too_narrow")
    if rules.max_width is not None and width > rules.max_width:
        reasons.append("too_wide")
    if rules.min_height is not None and height < rules.min_height:
        reasons.append("too_short")
    if rules.max_height is not None and height > rules.max_height:
        reasons.append("too_tall")
    ratio = width / height
    if (rules.min_aspect_ratio is not None and ratio < rules.min_aspect_ratio) or (
        rules.max_aspect_ratio is not None and ratio > rules.max_aspect_ratio
    ):
        reasons.append("aspect_ratio")
    return reasons


class Originals:
    """The valid images later ones may copy: by SHA-256, and by pHash for near copies (a
    vectorised Hamming distance over every original: fast enough for runs of a hundred
    thousand images; an index by hash bands would be the next step)."""

    def __init__(self, images: Iterable[Candidate] = ()) -> None:
        self._by_sha: dict[str, Candidate] = {}
        self._hashes = np.zeros(1024, dtype=np.uint64)
        self._hashed: list[Candidate] = []
        for image in images:
            self.add(image)

    def __len__(self) -> int:
        return len(self._by_sha)

    def add(self, image: Candidate) -> None:
        self._by_sha.setdefault(image.sha256, image)
        if image.phash is None:
            return
        if len(self._hashed) == len(self._hashes):
            self._hashes = np.concatenate([self._hashes, np.zeros(len(self._hashes), dtype=np.uint64)])
        self._hashes[len(self._hashed)] = np.uint64(image.phash & _BITS)
        self._hashed.append(image)

    def copy_of(self, image: Candidate, distance: int | None) -> tuple[str, Candidate] | None:
        """("duplicate" or "near_duplicate", the original), or None."""
        if (same := self._by_sha.get(image.sha256)) is not None:
            return "duplicate", same
        if image.phash is None or distance is None or not self._hashed:
            return None
        hashes = self._hashes[: len(self._hashed)]
        distances = np.bitwise_count(hashes ^ np.uint64(image.phash & _BITS))
        nearest = int(np.argmin(distances))
        return ("near_duplicate", self._hashed[nearest]) if int(distances[nearest]) <= distance else None


def judge(images: Iterable[Candidate], rules: ValidationRules, originals: Originals) -> list[Verdict]:
    """Verdicts of `images`, in order; the valid ones join `originals`."""
    verdicts = []
    for image in images:
        reasons = own_reasons(image, rules)
        duplicate_of = None
        if rules.duplicates is not DuplicateScope.NONE:
            copy = originals.copy_of(image, rules.near_duplicate_distance)
            if copy is not None:
                reasons.append(copy[0])
                duplicate_of = copy[1]
        if not reasons:
            originals.add(image)
        ordered = tuple(sorted(reasons, key=REASONS.index))
        verdicts.append(Verdict(image, not ordered, ordered, duplicate_of))
    return verdicts
