"""Content-Encoding decoding that never holds more than a bounded amount of output.

httpx's own decoders expand a whole network chunk at once, so a 64 KiB chunk of a gzip bomb
becomes ~64 MiB in one call. These decoders cap every step's output, so a body is refused as
soon as its decoded size passes the limit, whatever the compression ratio.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

import brotli

ACCEPT_ENCODING = "gzip, deflate, br"
_STEP = 256 * 1024  # decoded bytes produced per step


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body larger than {limit:,} bytes (after decompression)")
        self.limit = limit


class UnsupportedEncoding(Exception):
    pass


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Zlib:
    def __init__(self, wbits: int) -> None:
        self._inflater = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending:
            out = self._inflater.decompress(pending, _STEP)
            pending = self._inflater.unconsumed_tail
            if out:
                yield out
            if self._inflater.eof:
                return

    def flush(self) -> Iterator[bytes]:
        if out := self._inflater.flush():
            yield out


class _Deflate(_Zlib):
    """'deflate' is zlib-wrapped by the RFC, raw deflate by some servers: sniff the header."""

    def __init__(self) -> None:
        self._decided = False
        super().__init__(zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._decided and data:
            self._decided = True
            if (data[0] & 0x0F) != 8 or (data[0] * 256 + (data[1] if len(data) > 1 else 0)) % 31:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        yield from super().feed(data)


class _Brotli:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out: bytes = self._decompressor.process(data, output_buffer_limit=_STEP)
        while True:
            if out:
                yield out
            if self._decompressor.can_accept_more_data():
                return
            out = self._decompressor.process(b"", output_buffer_limit=_STEP)

    def flush(self) -> Iterator[bytes]:
        return iter(())


def _decoder(encoding: str) -> _Decoder:
    match encoding:
        case "" | "identity":
            return _Identity()
        case "gzip" | "x-gzip":
            return _Zlib(16 + zlib.MAX_WBITS)
        case "deflate":
            return _Deflate()
        case "br":
            return _Brotli()
    raise UnsupportedEncoding(f"unsupported Content-Encoding {encoding!r}")


class BoundedDecoder:
    """Decodes a body with one or more Content-Encodings, applied in the order listed."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        encodings = [part.strip().lower() for part in (content_encoding or "").split(",") if part.strip()]
        # The last encoding listed was applied last, so it is undone first.
        self._stages = [_decoder(encoding) for encoding in reversed(encodings)] or [_Identity()]
        self._limit = limit
        self.decoded_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        return self._count(self._run(data, final=False))

    def finish(self) -> list[bytes]:
        return self._count(self._run(b"", final=True))

    def _run(self, data: bytes, *, final: bool) -> Iterator[bytes]:
        chunks: Iterator[bytes] = iter((data,))
        for stage in self._stages:
            chunks = _through(stage, chunks, final)
        return chunks

    def _count(self, chunks: Iterator[bytes]) -> list[bytes]:
        out = []
        for chunk in chunks:
            self.decoded_bytes += len(chunk)
            if self.decoded_bytes > self._limit:
                raise BodyTooLarge(self._limit)
            out.append(chunk)
        return out


def _through(stage: _Decoder, chunks: Iterator[bytes], final: bool) -> Iterator[bytes]:
    for chunk in chunks:
        yield from stage.feed(chunk)
    if final:
        yield from stage.flush()


def decode_all(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    decoder = BoundedDecoder(content_encoding, limit)
    return b"".join([*decoder.feed(body), *decoder.finish()])
