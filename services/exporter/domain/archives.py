"""Zip and tar archives written as a stream of entries whose sizes are known up front (an
image's size is in its record; a manifest's is counted before it is written): each call
returns the archive's next bytes, and nothing of an entry is held once returned."""

from __future__ import annotations

import tarfile
import time
import zipfile
from typing import IO, Final, Protocol

from services.exporter.domain.sink import StreamSink

TAR_BLOCK: Final = 512


class EntrySizeMismatch(ValueError):
    """An entry's bytes were not as many as announced (the stored object changed?)."""


class Archive(Protocol):
    def open_entry(self, name: str, size: int) -> bytes: ...

    def write(self, data: bytes) -> bytes: ...

    def close_entry(self) -> bytes: ...

    def finish(self) -> bytes: ...


class ZipArchive:
    """Entries stored as they are (images are compressed already); Zip64 where sizes need it."""

    def __init__(self) -> None:
        self._sink = StreamSink()
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self._entry: IO[bytes] | None = None
        self._expected = 0
        self._written = 0

    def open_entry(self, name: str, size: int) -> bytes:
        info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
        info.file_size = size  # decides whether the entry needs Zip64
        info.compress_type = zipfile.ZIP_STORED
        self._entry = self._zip.open(info, "w")
        self._expected, self._written = size, 0
        return self._sink.drain()

    def write(self, data: bytes) -> bytes:
        assert self._entry is not None
        self._entry.write(data)
        self._written += len(data)
        return self._sink.drain()

    def close_entry(self) -> bytes:
        assert self._entry is not None
        if self._written != self._expected:
            raise EntrySizeMismatch(f"{self._written} bytes written of {self._expected} announced")
        self._entry.close()
        self._entry = None
        return self._sink.drain()

    def finish(self) -> bytes:
        self._zip.close()
        return self._sink.drain()


class TarArchive:
    """POSIX pax tar (UTF-8 names of any length)."""

    def __init__(self) -> None:
        self._expected = 0
        self._written = 0

    def open_entry(self, name: str, size: int) -> bytes:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = int(time.time())
        info.mode = 0o644
        self._expected, self._written = size, 0
        return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")

    def write(self, data: bytes) -> bytes:
        self._written += len(data)
        if self._written > self._expected:
            raise EntrySizeMismatch(f"more than the {self._expected} bytes announced")
        return data

    def close_entry(self) -> bytes:
        if self._written != self._expected:
            raise EntrySizeMismatch(f"{self._written} bytes written of {self._expected} announced")
        return b"\0" * (-self._written % TAR_BLOCK)

    def finish(self) -> bytes:
        return b"\0" * (2 * TAR_BLOCK)
