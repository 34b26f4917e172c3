"""A write-only file that hands its bytes out as they come, for writers that want a file
(zipfile, pyarrow) but whose output goes to a stream: what they write is `drain`ed after each
step, so no more than a step's output is ever held."""

from __future__ import annotations

import io


class StreamSink(io.RawIOBase):
    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._position = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(data)
        self._buffer += data
        self._position += size
        return size

    def tell(self) -> int:
        return self._position

    def drain(self) -> bytes:
        """What was written since the last drain."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data
