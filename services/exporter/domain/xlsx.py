"""Excel workbooks written as a stream: SpreadsheetML parts in a zip whose sheets are written
row by row, so memory holds one page of rows whatever the size (xlsxwriter's constant-memory
mode still keeps each sheet in a temporary file and builds the zip at the end).

Each sheet starts with the header row and holds at most 1,048,576 rows (Excel's limit); the
rows go on in the next sheet, and a last sheet, "notes", says so. Strings are inline, cut at
Excel's 32,767 characters per cell; characters XML cannot hold are dropped."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from typing import IO, Any, Final
from xml.sax.saxutils import escape, quoteattr

from services.exporter.domain.cells import json_text
from services.exporter.domain.sink import StreamSink

EXCEL_MAX_ROWS: Final = 1_048_576
EXCEL_MAX_CELL_CHARS: Final = 32_767
_EXACT_INTEGERS: Final = 2**53  # Excel's numbers are doubles; larger integers go as text
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MAIN_NS: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL_NS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _cell(reference: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    if (isinstance(value, int) and abs(value) < _EXACT_INTEGERS) or isinstance(value, float):
        return f'<c r="{reference}"><v>{value!r}</v></c>'
    string = value if isinstance(value, str) else json_text(value)
    string = _NOT_XML.sub("", string)[:EXCEL_MAX_CELL_CHARS]
    return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{escape(string)}</t></is></c>'


class XlsxWriter:
    def __init__(self, columns: Sequence[str], *, rows_per_sheet: int | None = None) -> None:
        self._letters = [column_letters(index) for index in range(len(columns))]
        self._header = list(columns)
        self._rows_per_sheet = rows_per_sheet or EXCEL_MAX_ROWS
        self._sink = StreamSink()
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self._sheet: IO[bytes] | None = None
        self._sheets = 0
        self._row_in_sheet = 0

    def start(self) -> bytes:
        self._new_sheet()
        return self._sink.drain()

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> bytes:
        for row in rows:
            if self._row_in_sheet >= self._rows_per_sheet:
                self._new_sheet()
            self._write_row(row)
        return self._sink.drain()

    def finish(self) -> bytes:
        self._close_sheet()
        names = [f"data {number}" if self._sheets > 1 else "data" for number in range(1, self._sheets + 1)]
        if self._sheets > 1:
            names.append("notes")
            self._write_notes()
        self._write_part("xl/workbook.xml", self._workbook(names))
        self._write_part("xl/_rels/workbook.xml.rels", self._workbook_rels(len(names)))
        self._write_part("_rels/.rels", self._package_rels())
        self._write_part("[Content_Types].xml", self._content_types(len(names)))
        self._zip.close()
        return self._sink.drain()

    def _new_sheet(self) -> None:
        self._close_sheet()
        self._sheets += 1
        self._sheet = self._zip.open(f"xl/worksheets/sheet{self._sheets}.xml", "w")
        self._sheet.write(f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}"><sheetData>'.encode())
        self._row_in_sheet = 0
        self._write_row(self._header)

    def _write_row(self, values: Sequence[Any]) -> None:
        assert self._sheet is not None
        self._row_in_sheet += 1
        number = self._row_in_sheet
        cells = "".join(
            _cell(f"{letter}{number}", value) for letter, value in zip(self._letters, values, strict=False)
        )
        self._sheet.write(f'<row r="{number}">{cells}</row>'.encode())

    def _close_sheet(self) -> None:
        if self._sheet is not None:
            self._sheet.write(b"</sheetData></worksheet>")
            self._sheet.close()
            self._sheet = None

    def _write_notes(self) -> None:
        note = (
            f"The rows go on from sheet to sheet: an Excel sheet holds at most {self._rows_per_sheet:,}"
            f" rows, the first of each being the header. {self._sheets} sheets of data."
        )
        self._zip.writestr(
            f"xl/worksheets/sheet{self._sheets + 1}.xml",
            f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}"><sheetData><row r="1">{_cell("A1", note)}</row>'
            "</sheetData></worksheet>",
        )

    def _write_part(self, name: str, xml: str) -> None:
        self._zip.writestr(name, _XML_HEAD + xml)

    @staticmethod
    def _workbook(names: Sequence[str]) -> str:
        sheets = "".join(
            f'<sheet name={quoteattr(name)} sheetId="{number}" r:id="rId{number}"/>'
            for number, name in enumerate(names, start=1)
        )
        return f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets>{sheets}</sheets></workbook>'

    @staticmethod
    def _workbook_rels(count: int) -> str:
        relations = "".join(
            f'<Relationship Id="rId{number}" Type="{_REL_NS}/worksheet" '
            f'Target="worksheets/sheet{number}.xml"/>'
            for number in range(1, count + 1)
        )
        return f'<Relationships xmlns="{_PACKAGE_REL_NS}">{relations}</Relationships>'

    @staticmethod
    def _package_rels() -> str:
        return (
            f'<Relationships xmlns="{_PACKAGE_REL_NS}"><Relationship Id="rId1" '
            f'Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        )

    @staticmethod
    def _content_types(count: int) -> str:
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{number}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for number in range(1, count + 1)
        )
        return (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{sheets}</Types>"
        )
