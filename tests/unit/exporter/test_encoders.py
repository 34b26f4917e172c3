"""Each format read back with its own reader equals the rows written, page after page."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import openpyxl
import pyarrow.parquet as pq

from services.exporter.domain.encoders import (
    CsvEncoder,
    Encoder,
    JsonArrayEncoder,
    JsonLinesEncoder,
    ParquetEncoder,
    XlsxEncoder,
)
from services.exporter.domain.rows import Columns

ROWS: list[dict[str, Any]] = [
    {"name": "Lampe « Ørsted » 💡", "price": 12, "ok": True, "tags": ["a", "b"], "meta": {"k": 1}},
    {"name": 'Tide, "quoted"\nline', "price": 7.5, "ok": False, "tags": [], "meta": None},
    {"name": None, "price": None, "ok": None, "tags": None, "meta": {"deep": {"x": "é"}}},
]


def _write(encoder: Encoder, pages: list[list[dict[str, Any]]]) -> bytes:
    return encoder.start() + b"".join(encoder.encode(page) for page in pages) + encoder.finish()


def _columns() -> Columns:
    columns = Columns()
    columns.observe(ROWS)
    return columns


def test_json_lines_and_json_keep_nested_values() -> None:
    lines = _write(JsonLinesEncoder(), [ROWS[:2], [], ROWS[2:]]).decode().splitlines()
    assert [json.loads(line) for line in lines] == ROWS
    assert json.loads(_write(JsonArrayEncoder(), [ROWS[:1], [], ROWS[1:]])) == ROWS
    assert json.loads(_write(JsonArrayEncoder(), [])) == []
    assert _write(JsonLinesEncoder(), []) == b""


def test_csv_has_the_header_a_bom_when_asked_and_nested_values_as_json() -> None:
    data = _write(CsvEncoder(_columns().names, bom=True), [ROWS[:1], ROWS[1:]])
    assert data.startswith(b"\xef\xbb\xbf")
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert read[0] == ["name", "price", "ok", "tags", "meta"]
    assert read[1] == ["Lampe « Ørsted » 💡", "12", "true", '["a","b"]', '{"k":1}']
    assert read[2][0] == 'Tide, "quoted"\nline'
    assert read[3] == ["", "", "", "", '{"deep":{"x":"é"}}']
    assert _write(CsvEncoder(["a", "b"]), []) == b"a,b\r\n"


def test_parquet_columns_are_typed_and_row_groups_bounded() -> None:
    data = _write(ParquetEncoder(_columns().types(), row_group_rows=2), [ROWS[:1], ROWS[1:2], ROWS[2:]])
    parquet = pq.ParquetFile(io.BytesIO(data))
    assert parquet.metadata.num_row_groups == 2
    table = parquet.read()
    assert [str(field.type) for field in table.schema] == ["string", "double", "bool", "string", "string"]
    assert table.column("name").to_pylist() == [row["name"] for row in ROWS]
    assert table.column("price").to_pylist() == [12.0, 7.5, None]
    assert table.column("tags").to_pylist() == ['["a","b"]', "[]", None]
    empty = pq.read_table(io.BytesIO(_write(ParquetEncoder(_columns().types()), [])))
    assert empty.num_rows == 0 and empty.column_names == ["name", "price", "ok", "tags", "meta"]


def test_xlsx_reads_back_with_a_new_sheet_past_the_row_limit() -> None:
    names = _columns().names
    encoder = XlsxEncoder(names)
    encoder._writer._rows_per_sheet = 3  # two rows and the header per sheet
    book = openpyxl.load_workbook(io.BytesIO(_write(encoder, [ROWS[:2], ROWS[2:]])), read_only=True)
    assert book.sheetnames == ["data 1", "data 2", "notes"]
    first, second = (
        [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets[:2]
    )
    assert first[0] == second[0] == names
    assert first[1] == ["Lampe « Ørsted » 💡", 12, True, '["a","b"]', '{"k":1}']
    assert first[2][:3] == ['Tide, "quoted"\nline', 7.5, False]
    assert second[1][-1] == '{"deep":{"x":"é"}}'
    one = openpyxl.load_workbook(io.BytesIO(_write(XlsxEncoder(["a"]), [])), read_only=True)
    assert one.sheetnames == ["data"] and [list(r) for r in one.active.iter_rows(values_only=True)] == [["a"]]
