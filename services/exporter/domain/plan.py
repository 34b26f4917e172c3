"""What an export makes: its file's name and type, the encoder or archive that writes it, the
columns it starts from, and how its progress and retries are told."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from services.exporter.domain.archives import Archive, TarArchive, ZipArchive
from services.exporter.domain.encoders import (
    CsvEncoder,
    Encoder,
    JsonArrayEncoder,
    JsonLinesEncoder,
    ParquetEncoder,
    XlsxEncoder,
)
from services.exporter.domain.rows import (
    DOCUMENT_COLUMNS,
    IMAGE_COLUMNS,
    ITEM_COLUMNS,
    LLM_OUTPUT_COLUMNS,
    PRODUCT_COLUMNS,
    Columns,
    ColumnType,
    declared_columns,
    schema_columns,
)
from shared.events import ExportDataset, ExportFormat, ExportOptions


class ExportRefused(ValueError):
    """The export cannot be made whatever the retries (its message says why)."""


@dataclass(frozen=True)
class FileType:
    extension: str
    content_type: str


FILE_TYPES: Final = {
    ExportFormat.CSV: FileType("csv", "text/csv; charset=utf-8"),
    ExportFormat.JSONL: FileType("jsonl", "application/x-ndjson"),
    ExportFormat.JSON: FileType("json", "application/json"),
    ExportFormat.XLSX: FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ExportFormat.PARQUET: FileType("parquet", "application/vnd.apache.parquet"),
    ExportFormat.IMAGES_ZIP: FileType("zip", "application/zip"),
    ExportFormat.ZIP: FileType("zip", "application/zip"),
    ExportFormat.TAR: FileType("tar", "application/x-tar"),
    ExportFormat.WEBDATASET: FileType("tar", "application/x-tar"),
}

# Formats whose columns are fixed before the first row: the rows are read once to learn them.
TABLE_FORMATS: Final = frozenset({ExportFormat.CSV, ExportFormat.XLSX, ExportFormat.PARQUET})

_DATASET_COLUMNS: Final[Mapping[ExportDataset, Mapping[str, ColumnType]]] = {
    ExportDataset.ITEMS: ITEM_COLUMNS,
    ExportDataset.PRODUCTS: ITEM_COLUMNS,
    ExportDataset.DOCUMENTS: DOCUMENT_COLUMNS,
    ExportDataset.IMAGES: IMAGE_COLUMNS,
    ExportDataset.LLM_OUTPUTS: LLM_OUTPUT_COLUMNS,
}
_IMAGE_EXTENSIONS: Final = {"jpeg": "jpg", "tiff": "tif"}


def filename(dataset: ExportDataset, format: ExportFormat, subject: str, number: int | None = None) -> str:
    """The file's name: the dataset, whose (a run's id, or job-<id>) and, for the files of an
    export split into several, the file's number from 0."""
    part = "" if number is None else f"-{number:05d}"
    return f"{dataset.value}-{subject}{part}.{FILE_TYPES[format].extension}"


def sample_key(shard: int, index: int, shard_size: int) -> str:
    """A WebDataset sample's key, as img2dataset makes it: the shard's number, then the
    sample's in the shard, zero-padded (so keys sort in order)."""
    return f"{shard:05d}{index:0{max(4, len(str(shard_size - 1)))}d}"


def sample_file(key: str, image_format: str | None) -> str:
    return f"{key}.{_extension(image_format)}"


def starting_columns(
    dataset: ExportDataset, options: ExportOptions, extractor_schema: Mapping[str, Any] | None
) -> Columns:
    """A run's extractor schema gives items their first columns (its properties, in order);
    products start with their normalised fields."""
    if dataset is ExportDataset.PRODUCTS:
        schema: Mapping[str, ColumnType] = PRODUCT_COLUMNS
    elif dataset is ExportDataset.ITEMS:
        schema = schema_columns(extractor_schema)
    else:
        schema = {}
    if options.markdown or dataset is not ExportDataset.DOCUMENTS:
        own = _DATASET_COLUMNS[dataset]
    else:
        own = {name: kind for name, kind in DOCUMENT_COLUMNS.items() if name != "markdown"}
    return declared_columns(own, schema, options)


def encoder(format: ExportFormat, columns: Columns, options: ExportOptions) -> Encoder:
    if format is ExportFormat.JSONL:
        return JsonLinesEncoder()
    if format is ExportFormat.JSON:
        return JsonArrayEncoder()
    if format is ExportFormat.CSV:
        return CsvEncoder(columns.names, bom=options.bom)
    if format is ExportFormat.XLSX:
        return XlsxEncoder(columns.names)
    if format is ExportFormat.PARQUET:
        return ParquetEncoder(columns.types())
    raise ExportRefused(f"{format.value} is an archive format, not a table")


def manifest_columns(options: ExportOptions) -> Columns:
    """An archive's manifest: each image's file in the archive, then its record."""
    return declared_columns({"file": ColumnType.STRING, **IMAGE_COLUMNS}, {}, options)


def manifest_encoder(options: ExportOptions, columns: Columns) -> Encoder:
    return CsvEncoder(columns.names) if options.manifest == "csv" else JsonLinesEncoder()


def archive(format: ExportFormat) -> Archive:
    return TarArchive() if format is ExportFormat.TAR else ZipArchive()


def image_path(image_key: str, image_format: str | None) -> str:
    return f"images/{image_key}.{_extension(image_format)}"


def _extension(image_format: str | None) -> str:
    extension = (image_format or "bin").lower()
    return _IMAGE_EXTENSIONS.get(extension, extension)


def percent(written: int, total: int | None) -> int | None:
    if total is None:
        return None
    return 100 if total == 0 else min(100, written * 100 // total)


def retry_delay(attempts: int, base_seconds: float) -> float:
    """Doubling waits between an export's tries."""
    return float(base_seconds * 2 ** max(0, attempts - 1))
