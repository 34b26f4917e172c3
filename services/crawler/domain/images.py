"""Image facts for image jobs (seed 004): size and format from the header alone.

Pillow reads only the header to learn width, height and format (nothing is decoded), tries
only the formats found on the web, and refuses headers announcing more pixels than
`MAX_IMAGE_PIXELS` twice over as decompression bombs.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from shared.events import Limits

WEB_IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF", "ICO")
# Pillow raises DecompressionBombError past twice this (~200 megapixels): well above any
# photograph a crawl wants, far below what would exhaust memory if someone later decoded it.
Image.MAX_IMAGE_PIXELS = 100_000_000

_FORMAT_ALIASES = {
    "jpg": "jpeg",
    "jpe": "jpeg",
    "pjpeg": "jpeg",
    "tif": "tiff",
    "x-icon": "ico",
    "vnd.microsoft.icon": "ico",
}


class NotAnImage(ValueError):
    """The bytes are not an image this crawler records; `reason` says why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str  # lower case: "jpeg", "png", "gif", "webp", ...


def inspect_image(data: bytes) -> ImageInfo:
    try:
        with Image.open(io.BytesIO(data), formats=WEB_IMAGE_FORMATS) as image:
            width, height = image.size
            image_format = image.format or ""
    except Image.DecompressionBombError as exc:
        raise NotAnImage("too_many_pixels", str(exc)) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        # Pillow's plugins signal truncated or malformed headers with any of these.
        raise NotAnImage("unreadable", str(exc)) from exc
    if width < 1 or height < 1:
        raise NotAnImage("unreadable", f"{width}x{height} image")
    return ImageInfo(width=width, height=height, format=image_format.lower())


def normalise_format(name: str) -> str:
    """ "JPG", ".jpeg", "image/jpeg" -> "jpeg"."""
    base = name.strip().lower().rsplit("/", 1)[-1].lstrip(".")
    return _FORMAT_ALIASES.get(base, base)


def image_refusal(info: ImageInfo, limits: Limits) -> str | None:
    """Why an image is skipped under a job's limits ("format_not_allowed", "too_small"), or None."""
    allowed = {normalise_format(name) for name in limits.image_formats}
    if allowed and normalise_format(info.format) not in allowed:
        return "format_not_allowed"
    if limits.min_image_width is not None and info.width < limits.min_image_width:
        return "too_small"
    if limits.min_image_height is not None and info.height < limits.min_image_height:
        return "too_small"
    return None
