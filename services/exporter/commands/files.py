"""The files an export makes, each as a name and a stream of bytes: a table (CSV, JSON Lines,
JSON, Excel, Parquet) or a new one every `split_rows` rows; an image archive (zip or tar with
its manifest); WebDataset tar shards. Files are made one after the other from one pass over
the rows, each stream read to its end before the next file starts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final, Generic, TypeVar

from services.exporter.commands.datasets import Snapshot
from services.exporter.domain import plan
from services.exporter.domain.archives import Archive, TarArchive
from services.exporter.domain.encoders import Encoder
from services.exporter.domain.rows import Columns, Row, image_row, shape, shaped_rows
from shared.events import ExportFormat, ExportOptions
from shared.s3 import ObjectStore

# img2dataset's default number of samples per shard.
WEBDATASET_SHARD: Final = 10_000

T = TypeVar("T")
File = tuple[str, AsyncIterator[bytes]]


class Counter:
    """Records taken from the dataset so far, and the rows they made in files (more when a
    list is unwound)."""

    def __init__(self) -> None:
        self.records = 0
        self.file_rows = 0

    def advance(self, records: int, file_rows: int | None = None) -> None:
        self.records += records
        self.file_rows += records if file_rows is None else file_rows


class _Pages(Generic[T]):
    """Pages of a stream taken a number of elements at a time, a page split where it must."""

    def __init__(self, pages: AsyncIterator[Sequence[T]]) -> None:
        self._pages = pages
        self._left: Sequence[T] = []

    async def take(self, limit: int | None) -> AsyncIterator[Sequence[T]]:
        """The next `limit` elements (all that are left when None), in pages."""
        taken = 0
        while limit is None or taken < limit:
            if not self._left and await self.exhausted():
                return
            cut = len(self._left) if limit is None else limit - taken
            page, self._left = self._left[:cut], self._left[cut:]
            taken += len(page)
            yield page

    async def exhausted(self) -> bool:
        while not self._left:
            try:
                self._left = await anext(self._pages)
            except StopAsyncIteration:
                return True
        return False


async def learn_columns(snapshot: Snapshot, objects: ObjectStore, columns: Columns) -> None:
    """A first pass over the rows for the columns and their types (only names are kept)."""
    options = snapshot.task.options
    async for rows in snapshot.rows(objects, with_markdown=False):
        await asyncio.to_thread(_observe, columns, rows, options)


async def table_files(
    snapshot: Snapshot, objects: ObjectStore, counter: Counter, columns: Columns
) -> AsyncIterator[File]:
    task = snapshot.task
    split = task.options.split_rows
    pages: _Pages[Row] = _Pages(snapshot.rows(objects, with_markdown=task.options.markdown))
    number = 0
    while True:
        name = plan.filename(task.dataset, task.format, task.subject, None if split is None else number)
        encoder = plan.encoder(task.format, columns, task.options)
        yield name, _table(pages.take(split), encoder, task.options, counter)
        number += 1
        if await pages.exhausted():
            return


async def _table(
    pages: AsyncIterator[Sequence[Row]], encoder: Encoder, options: ExportOptions, counter: Counter
) -> AsyncIterator[bytes]:
    yield await asyncio.to_thread(encoder.start)
    async for rows in pages:
        encoded, file_rows = await asyncio.to_thread(_encode, encoder, rows, options)
        yield encoded
        counter.advance(len(rows), file_rows)
    yield await asyncio.to_thread(encoder.finish)


def _observe(columns: Columns, rows: Sequence[Row], options: ExportOptions) -> None:
    columns.observe(shaped_rows(rows, options))


def _encode(encoder: Encoder, rows: Sequence[Row], options: ExportOptions) -> tuple[bytes, int]:
    """The rows' bytes in the file, and how many rows they made there."""
    shaped = shaped_rows(rows, options)
    return encoder.encode(shaped), len(shaped)


async def archive_file(snapshot: Snapshot, objects: ObjectStore, counter: Counter) -> AsyncIterator[File]:
    task = snapshot.task
    yield plan.filename(task.dataset, task.format, task.subject), _archive(snapshot, objects, counter)


async def _archive(snapshot: Snapshot, objects: ObjectStore, counter: Counter) -> AsyncIterator[bytes]:
    """The manifest first (its size counted in a pass before, as a tar entry announces it),
    then each image's bytes streamed from S3 into its entry."""
    task = snapshot.task
    archive = plan.archive(task.format)
    columns = plan.manifest_columns(task.options)
    manifest = f"manifest.{task.options.manifest}"
    size = sum([len(chunk) async for chunk in _manifest(snapshot, columns)])
    yield archive.open_entry(manifest, size)
    async for chunk in _manifest(snapshot, columns):
        yield archive.write(chunk)
    yield archive.close_entry()
    async for records in snapshot.records():
        for record in records:
            async for chunk in _entry(
                archive, objects, plan.image_path(record["image_key"], record["format"]), record
            ):
                yield chunk
            counter.advance(1)
    yield archive.finish()


async def _entry(archive: Archive, objects: ObjectStore, name: str, record: Any) -> AsyncIterator[bytes]:
    """An image's entry, its bytes streamed from S3."""
    yield archive.open_entry(name, record["bytes"])
    async for chunk in objects.stream(record["s3_key"]):
        yield archive.write(chunk)
    yield archive.close_entry()


async def _manifest(snapshot: Snapshot, columns: Columns) -> AsyncIterator[bytes]:
    options = snapshot.task.options
    encoder = plan.manifest_encoder(options, columns)
    yield encoder.start()
    async for records in snapshot.records():
        rows = [
            shape({"file": plan.image_path(r["image_key"], r["format"]), **image_row(r)}, options)
            for r in records
        ]
        yield await asyncio.to_thread(encoder.encode, rows)
    yield encoder.finish()


async def webdataset_shards(
    snapshot: Snapshot, objects: ObjectStore, counter: Counter
) -> AsyncIterator[File]:
    """Tar shards as img2dataset writes them (`00000.tar`, ...): per sample `<key>.<ext>` (the
    image), `<key>.txt` (its caption: alt text, else label) and `<key>.json` (its record)."""
    size = snapshot.task.options.split_rows or WEBDATASET_SHARD
    pages: _Pages[Any] = _Pages(snapshot.records())
    shard = 0
    while True:
        yield f"{shard:05d}.tar", _shard(pages.take(size), shard, size, objects, counter)
        shard += 1
        if await pages.exhausted():
            return


async def _shard(
    pages: AsyncIterator[Sequence[Any]], shard: int, size: int, objects: ObjectStore, counter: Counter
) -> AsyncIterator[bytes]:
    archive = TarArchive()
    index = 0
    async for records in pages:
        for record in records:
            key = plan.sample_key(shard, index, size)
            row = image_row(record)
            caption = (row["alt_text"] or row["label"] or "").encode()
            metadata = json.dumps(
                {"key": key, "caption": caption.decode(), **row}, ensure_ascii=False
            ).encode()
            async for chunk in _entry(archive, objects, plan.sample_file(key, record["format"]), record):
                yield chunk
            for name, body in ((f"{key}.txt", caption), (f"{key}.json", metadata)):
                yield archive.open_entry(name, len(body)) + archive.write(body) + archive.close_entry()
            counter.advance(1)
            index += 1
    yield archive.finish()


def produce(
    snapshot: Snapshot, objects: ObjectStore, counter: Counter, columns: Columns | None
) -> AsyncIterator[File]:
    """The export's files; `columns` (learnt) for a table format."""
    task = snapshot.task
    if task.format is ExportFormat.WEBDATASET:
        return webdataset_shards(snapshot, objects, counter)
    if task.format.is_archive:
        return archive_file(snapshot, objects, counter)
    assert columns is not None
    return table_files(snapshot, objects, counter, columns)
