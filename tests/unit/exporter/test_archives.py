"""Zip and tar archives written entry by entry read back whole; a short entry is refused."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from services.exporter.domain.archives import Archive, EntrySizeMismatch, TarArchive, ZipArchive

ENTRIES = {"manifest.csv": b"file,url\r\n", "images/ä.jpg": bytes(range(256)) * 40, "images/b.png": b""}


def _write(archive: Archive) -> bytes:
    out = b""
    for name, data in ENTRIES.items():
        out += archive.open_entry(name, len(data))
        for start in range(0, len(data), 1000):
            out += archive.write(data[start : start + 1000])
        out += archive.close_entry()
    return out + archive.finish()


def test_zip_reads_back() -> None:
    with zipfile.ZipFile(io.BytesIO(_write(ZipArchive()))) as archive:
        assert archive.testzip() is None
        assert {name: archive.read(name) for name in archive.namelist()} == ENTRIES


def test_tar_reads_back() -> None:
    with tarfile.open(fileobj=io.BytesIO(_write(TarArchive()))) as archive:
        read = {}
        for member in archive.getmembers():
            extracted = archive.extractfile(member)
            assert extracted is not None
            read[member.name] = extracted.read()
    assert read == ENTRIES


@pytest.mark.parametrize("archive", [ZipArchive(), TarArchive()])
def test_an_entry_shorter_than_announced_is_refused(archive: Archive) -> None:
    archive.open_entry("images/a.jpg", 10)
    archive.write(b"12345")
    with pytest.raises(EntrySizeMismatch):
        archive.close_entry()
