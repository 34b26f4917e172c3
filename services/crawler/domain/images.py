"""Image facts for image jobs (seed 004): what the header says, and what decoding it finds.

`inspect_image` reads only the header to learn width, height and format (nothing is decoded):
enough for a job's limits. `analyse_image` then decodes the whole image once, as a dataset
needs it: a truncated or corrupt file is caught there (and kept, so that a validation job can
say so), and the decoded pixels give the perceptual hash (ImageHash's pHash, of the image
turned upright by its EXIF orientation, taken from its thumbnail), how uniform the image is
(the standard deviation of its grey levels: a blank image has none) and a small JPEG
thumbnail. Pillow tries only the formats found on the web, and refuses headers announcing
more pixels than `MAX_IMAGE_PIXELS` twice over as decompression bombs.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import imagehash
from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

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


THUMBNAIL_SIZE = (256, 256)
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ImageFacts:
    """What decoding an image found. `decode_error` ("corrupt", "truncated") leaves the rest
    None; `info` is None when not even the header could be read."""

    info: ImageInfo | None
    decode_error: str | None = None
    exif_orientation: int | None = None
    phash: int | None = None  # 64 bits, as a signed integer (a Postgres bigint)
    pixel_stddev: float | None = None  # of grey levels, 0 (uniform) to 127.5
    thumbnail: bytes | None = None  # JPEG, at most THUMBNAIL_SIZE


def analyse_image(data: bytes) -> ImageFacts:
    """Decode the whole image (CPU work: run it in a worker thread). Raises NotAnImage only for
    a decompression bomb; unreadable bytes come back as a corrupt image."""
    try:
        info = inspect_image(data)
    except NotAnImage as exc:
        if exc.reason == "too_many_pixels":
            raise
        return ImageFacts(None, decode_error="corrupt")
    try:
        with Image.open(io.BytesIO(data), formats=WEB_IMAGE_FORMATS) as image:
            orientation = image.getexif().get(_EXIF_ORIENTATION)
            if image.format == "JPEG":
                image.draft("RGB", (THUMBNAIL_SIZE[0] * 2, THUMBNAIL_SIZE[1] * 2))  # decodes all, scaled
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError) as exc:
        truncated = "truncated" in str(exc).lower() or "broken data stream" in str(exc).lower()
        return ImageFacts(info, decode_error="truncated" if truncated else "corrupt")
    rgb = upright.convert("RGB")
    # The hash is of the thumbnail: pHash looks at 32x32 grey levels, which a 256 px image gives
    # as well as the full one, for a quarter of the resizing.
    rgb.thumbnail(THUMBNAIL_SIZE)
    phash = int(str(imagehash.phash(rgb)), 16)
    thumbnail = io.BytesIO()
    rgb.save(thumbnail, format="JPEG", quality=80)
    return ImageFacts(
        info,
        exif_orientation=orientation if isinstance(orientation, int) else None,
        phash=phash - (1 << 64) if phash >= 1 << 63 else phash,
        pixel_stddev=round(float(ImageStat.Stat(rgb.convert("L")).stddev[0]), 3),
        thumbnail=thumbnail.getvalue(),
    )


def phash_hex(phash: int | None) -> str | None:
    """A stored (signed) pHash as ImageHash writes it: 16 hex digits."""
    return None if phash is None else f"{phash & ((1 << 64) - 1):016x}"


# What img2dataset refuses by default; a directive may name an agent ("trawlbot: noai").
AI_REFUSALS = frozenset({"noai", "noimageai", "noindex", "noimageindex"})


def ai_use_refused(x_robots_tag: str | None, agent: str) -> bool:
    """Whether an image's X-Robots-Tag refuses its use for AI datasets: a directive for every
    agent, or for ours."""
    if not x_robots_tag:
        return False
    agent = agent.lower()
    for directive in x_robots_tag.lower().split(","):
        named, _, rule = directive.rpartition(":")
        if rule.strip() in AI_REFUSALS and named.strip() in ("", agent):
            return True
    return False
