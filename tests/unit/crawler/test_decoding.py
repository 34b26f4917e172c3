import gzip
import zlib

import brotli
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.crawler.domain.decoding import BodyTooLarge, UnsupportedEncoding, decode_all


@given(st.binary(max_size=5000))
def test_every_encoding_round_trips(data: bytes) -> None:
    assert decode_all(data, None, 10_000) == data
    assert decode_all(gzip.compress(data), "gzip", 10_000) == data
    assert decode_all(zlib.compress(data), "deflate", 10_000) == data
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode_all(raw_deflate.compress(data) + raw_deflate.flush(), "deflate", 10_000) == data
    assert decode_all(brotli.compress(data), "br", 10_000) == data
    assert decode_all(brotli.compress(gzip.compress(data)), "gzip, br", 10_000) == data


@pytest.mark.parametrize("encoding, compress", [("gzip", gzip.compress), ("br", brotli.compress)])
def test_a_bomb_is_refused_before_it_expands(encoding: str, compress: object) -> None:
    bomb = compress(bytes(50 * 1024 * 1024))  # type: ignore[operator]
    assert len(bomb) < 1024 * 1024
    with pytest.raises(BodyTooLarge):
        decode_all(bomb, encoding, 1024 * 1024)


def test_unknown_encoding_is_named() -> None:
    with pytest.raises(UnsupportedEncoding, match="compress"):
        decode_all(b"x", "compress", 100)
