"""Rows to bytes, format by format, a page at a time: each encoder turns pages of rows into the
next bytes of the file and holds nothing it has already handed out (Parquet holds one row
group at most). Encoding is CPU work: callers run it off the event loop."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from services.exporter.domain.cells import json_text, text
from services.exporter.domain.rows import ColumnType, Row
from services.exporter.domain.sink import StreamSink
from services.exporter.domain.xlsx import XlsxWriter

UTF8_BOM: Final = "\ufeff".encode()
PARQUET_ROW_GROUP_ROWS: Final = 100_000
PARQUET_ROW_GROUP_BYTES: Final = 64 * 1024 * 1024


class Encoder(Protocol):
    def start(self) -> bytes: ...

    def encode(self, rows: Sequence[Row]) -> bytes: ...

    def finish(self) -> bytes: ...


def _json_line(row: Row) -> str:
    return json.dumps(row, ensure_ascii=False, allow_nan=False, default=str)


class JsonLinesEncoder:
    def start(self) -> bytes:
        return b""

    def encode(self, rows: Sequence[Row]) -> bytes:
        return "".join(_json_line(row) + "\n" for row in rows).encode()

    def finish(self) -> bytes:
        return b""


class JsonArrayEncoder:
    """One JSON array, a row per line."""

    def __init__(self) -> None:
        self._first = True

    def start(self) -> bytes:
        return b"["

    def encode(self, rows: Sequence[Row]) -> bytes:
        if not rows:
            return b""
        lead = "\n" if self._first else ",\n"
        self._first = False
        return (lead + ",\n".join(_json_line(row) for row in rows)).encode()

    def finish(self) -> bytes:
        return b"]\n" if self._first else b"\n]\n"


class CsvEncoder:
    """RFC 4180 CSV in UTF-8 (with a BOM when asked, for Excel); nested values as JSON text."""

    def __init__(self, columns: Sequence[str], *, bom: bool = False) -> None:
        self._columns = list(columns)
        self._bom = bom

    def _lines(self, rows: Sequence[Sequence[str]]) -> bytes:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        return out.getvalue().encode()

    def start(self) -> bytes:
        return (UTF8_BOM if self._bom else b"") + self._lines([self._columns])

    def encode(self, rows: Sequence[Row]) -> bytes:
        return self._lines([[text(row.get(name)) for name in self._columns] for row in rows])

    def finish(self) -> bytes:
        return b""


_ARROW_TYPES: Final = {
    ColumnType.BOOL: pa.bool_(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.STRING: pa.string(),
    ColumnType.OBJECT: pa.string(),
    ColumnType.JSON: pa.string(),
}


def _arrow_value(value: Any, kind: ColumnType) -> Any:
    """The value as its column's type holds it; nested values (and strays) as JSON text."""
    if value is None:
        return None
    if kind is ColumnType.FLOAT and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in (ColumnType.BOOL, ColumnType.INT, ColumnType.FLOAT):
        return value
    return value if isinstance(value, str) else json_text(value)


class ParquetEncoder:
    """Typed columns, Zstandard-compressed, in row groups of at most `row_group_rows` rows and
    about `row_group_bytes` bytes (of Arrow memory) each: what is held before it is written."""

    def __init__(
        self,
        types: Mapping[str, ColumnType],
        *,
        row_group_rows: int = PARQUET_ROW_GROUP_ROWS,
        row_group_bytes: int = PARQUET_ROW_GROUP_BYTES,
    ) -> None:
        self._types = dict(types)
        self._schema = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in self._types.items()])
        self._sink = StreamSink()
        self._writer = pq.ParquetWriter(self._sink, self._schema, compression="zstd")
        self._row_group_rows = row_group_rows
        self._row_group_bytes = row_group_bytes
        self._pending: list[pa.Table] = []

    def start(self) -> bytes:
        return self._sink.drain()

    def encode(self, rows: Sequence[Row]) -> bytes:
        if rows:
            self._pending.append(self._table(rows))
        if (
            sum(table.num_rows for table in self._pending) >= self._row_group_rows
            or sum(table.nbytes for table in self._pending) >= self._row_group_bytes
        ):
            self._flush()
        return self._sink.drain()

    def finish(self) -> bytes:
        self._flush()
        self._writer.close()
        return self._sink.drain()

    def _table(self, rows: Sequence[Row]) -> pa.Table:
        arrays = [
            pa.array([_arrow_value(row.get(name), kind) for row in rows], type=_ARROW_TYPES[kind])
            for name, kind in self._types.items()
        ]
        return pa.Table.from_arrays(arrays, schema=self._schema)

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending))
            self._pending = []


class XlsxEncoder:
    """Excel through the streaming writer (a new sheet every 1,048,576 rows)."""

    def __init__(self, columns: Sequence[str], *, rows_per_sheet: int | None = None) -> None:
        self._columns = list(columns)
        self._writer = XlsxWriter(self._columns, rows_per_sheet=rows_per_sheet)

    def start(self) -> bytes:
        return self._writer.start()

    def encode(self, rows: Sequence[Row]) -> bytes:
        return self._writer.write_rows([[row.get(name) for name in self._columns] for row in rows])

    def finish(self) -> bytes:
        return self._writer.finish()
