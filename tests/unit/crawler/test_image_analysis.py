"""What decoding an image finds: broken files, orientation, pHash, blankness, thumbnails;
and which X-Robots-Tag values refuse an image's use for AI datasets."""

import io

import imagehash
import pytest
from PIL import Image

from services.crawler.domain.images import NotAnImage, ai_use_refused, analyse_image, phash_hex
from tests.fixtures import image_set


def test_a_photo_is_decoded_hashed_and_thumbnailed() -> None:
    picture = image_set.photo(1, (800, 600))
    data = image_set.jpeg(picture)
    facts = analyse_image(data)
    assert facts.decode_error is None
    assert facts.info is not None and (facts.info.width, facts.info.height) == (800, 600)
    assert facts.pixel_stddev is not None and facts.pixel_stddev > 20
    full_size = imagehash.phash(Image.open(io.BytesIO(data)).convert("RGB"))
    assert imagehash.hex_to_hash(phash_hex(facts.phash)) - full_size <= 2  # hashed from the thumbnail
    assert facts.thumbnail is not None
    with Image.open(io.BytesIO(facts.thumbnail)) as thumbnail:
        assert thumbnail.format == "JPEG" and max(thumbnail.size) == 256


def test_phash_is_a_signed_64_bit_integer_that_round_trips() -> None:
    hashes = [analyse_image(image_set.jpeg(image_set.photo(seed))).phash for seed in range(12)]
    assert all(h is not None and -(1 << 63) <= h < 1 << 63 for h in hashes)
    assert any(h is not None and h < 0 for h in hashes)  # the top bit set: stored negative
    for h in hashes:
        assert h is not None and int(phash_hex(h) or "", 16) == h & ((1 << 64) - 1)
    assert phash_hex(None) is None


def test_truncated_and_corrupt_files_are_told_apart_and_keep_their_header() -> None:
    data = image_set.jpeg(image_set.photo(2))
    truncated = analyse_image(image_set.truncated(data))
    assert truncated.decode_error == "truncated"
    assert truncated.info is not None and truncated.info.width == 640
    assert truncated.phash is None and truncated.thumbnail is None
    png = image_set.encoded(image_set.photo(3), "PNG")
    assert analyse_image(image_set.corrupt_png(png)).decode_error == "corrupt"
    assert analyse_image(b"GIF89a not really").decode_error == "corrupt"
    assert analyse_image(b"plain text").decode_error == "corrupt"


def test_a_uniform_image_has_no_spread() -> None:
    facts = analyse_image(image_set.blank())
    assert facts.pixel_stddev == 0.0 and facts.decode_error is None


def test_the_hash_is_of_the_upright_image() -> None:
    picture = image_set.photo(4, (640, 480))
    upright = analyse_image(image_set.jpeg(picture.rotate(-90, expand=True)))
    tagged = analyse_image(image_set.rotated_by_exif(picture, orientation=6))
    assert tagged.exif_orientation == 6 and upright.exif_orientation is None
    assert tagged.phash is not None and upright.phash is not None
    assert bin((tagged.phash ^ upright.phash) & ((1 << 64) - 1)).count("1") <= 4


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(NotAnImage) as refused:
        analyse_image(image_set.encoded(Image.new("1", (20_000, 20_000)), "PNG"))
    assert refused.value.reason == "too_many_pixels"


@pytest.mark.parametrize(
    ("header", "refused"),
    [
        (None, False),
        ("", False),
        ("noai", True),
        ("noimageai", True),
        ("NoImageIndex", True),
        ("nofollow, noindex", True),
        ("noarchive, nofollow", False),
        ("trawlbot: noai", True),
        ("otherbot: noai", False),
        ("otherbot: noai, trawlbot: noimageai", True),
        ("googlebot: noindex, noarchive", False),
    ],
)
def test_ai_refusals_in_x_robots_tag(header: str | None, refused: bool) -> None:
    assert ai_use_refused(header, "TrawlBot") is refused
