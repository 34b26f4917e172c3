import io
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from services.crawler.domain.images import (
    ImageInfo,
    NotAnImage,
    image_refusal,
    inspect_image,
    normalise_format,
)
from shared.events import Limits


def encode(image_format: str, width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color=0).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("image_format", "width", "height"),
    [
        ("PNG", 1, 1),
        ("PNG", 640, 480),
        ("JPEG", 32, 16),
        ("GIF", 10, 300),
        ("WEBP", 800, 600),
        ("BMP", 3, 4),
        ("TIFF", 7, 9),
    ],
)
def test_inspect_reads_size_and_format(image_format: str, width: int, height: int) -> None:
    assert inspect_image(encode(image_format, width, height)) == ImageInfo(
        width, height, image_format.lower()
    )


def png_header(width: int, height: int) -> bytes:
    """A PNG signature, its IHDR and an empty IDAT: a header announcing any size, no pixels."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + png_chunk(b"IDAT", b"")
    )


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_only_the_header_is_read() -> None:
    assert inspect_image(png_header(5000, 4000)) == ImageInfo(5000, 4000, "png")


def test_a_decompression_bomb_header_is_refused() -> None:
    with pytest.raises(NotAnImage) as refused:
        inspect_image(png_header(100_000, 100_000))
    assert refused.value.reason == "too_many_pixels"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html>not an image</html>",
        b"\x89PNG\r\n\x1a\n",
        b"%PDF-1.4\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
)
def test_non_images_raise(data: bytes) -> None:
    with pytest.raises(NotAnImage) as refused:
        inspect_image(data)
    assert refused.value.reason == "unreadable"


_FORMATS = st.sampled_from(["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])
_SIDES = st.integers(min_value=1, max_value=80)


@given(_FORMATS, _SIDES, _SIDES, st.sampled_from(["RGB", "L", "P"]))
def test_generated_images_are_read_exactly(image_format: str, width: int, height: int, mode: str) -> None:
    if image_format == "JPEG" and mode == "P":
        mode = "RGB"  # JPEG has no palette mode
    assert inspect_image(encode(image_format, width, height, mode)) == ImageInfo(
        width, height, image_format.lower()
    )


@st.composite
def _bytes_and_truth(draw: st.DrawFn) -> tuple[bytes, ImageInfo | None]:
    """Random bytes (the truth unknown), or a real image, whole or cut short or with a byte
    flipped past its header (the truth known: if it reads as an image, it reads as this one)."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300)), None
    image_format, width, height = draw(_FORMATS), draw(_SIDES), draw(_SIDES)
    data = bytearray(encode(image_format, width, height))
    damage = draw(st.sampled_from(["none", "truncate", "flip"]))
    if damage == "truncate":
        data = data[: draw(st.integers(min_value=0, max_value=len(data)))]
    elif damage == "flip" and len(data) > 64:
        data[draw(st.integers(min_value=64, max_value=len(data) - 1))] ^= 0xFF
    truth = ImageInfo(width, height, image_format.lower())
    return bytes(data), truth


@given(_bytes_and_truth())
def test_any_bytes_are_their_image_or_not_an_image(case: tuple[bytes, ImageInfo | None]) -> None:
    data, truth = case
    try:
        info = inspect_image(data)
    except NotAnImage as refused:
        assert refused.reason in ("unreadable", "too_many_pixels")
        return
    assert info.width > 0 and info.height > 0
    if truth is not None:
        assert info == truth


@pytest.mark.parametrize(
    ("name", "normalised"),
    [("JPG", "jpeg"), (".jpeg", "jpeg"), ("image/png", "png"), ("tif", "tiff"), ("WebP", "webp")],
)
def test_normalise_format(name: str, normalised: str) -> None:
    assert normalise_format(name) == normalised


def test_image_refusal_by_format_and_minimum_size() -> None:
    limits = Limits(image_formats=["jpg", "PNG"], min_image_width=100, min_image_height=50)
    assert image_refusal(ImageInfo(200, 100, "jpeg"), limits) is None
    assert image_refusal(ImageInfo(200, 100, "png"), limits) is None
    assert image_refusal(ImageInfo(200, 100, "gif"), limits) == "format_not_allowed"
    assert image_refusal(ImageInfo(99, 100, "png"), limits) == "too_small"
    assert image_refusal(ImageInfo(200, 49, "png"), limits) == "too_small"
    assert image_refusal(ImageInfo(1, 1, "webp"), Limits()) is None
