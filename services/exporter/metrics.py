"""The exporter's Prometheus metrics. The deployed alerts and dashboards query the first four
(names and labels fixed by them)."""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import Counter, Gauge, Histogram

ExportOutcome = Literal["completed", "failed"]

# An export runs from a second (a few rows) to many minutes (a large dataset to S3).
_EXPORT_BUCKETS: Final = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

EXPORTS: Final = Counter(
    "trawl_exports_total", "Exports by format and how they ended (completed, failed).", ["format", "outcome"]
)
ROWS: Final = Counter("trawl_export_rows_total", "Rows written to exports, by format.", ["format"])
BYTES: Final = Counter("trawl_export_bytes_total", "Bytes written to exports, by format.", ["format"])
EXPORT_SECONDS: Final = Histogram(
    "trawl_export_seconds", "Time of one export, start to link.", ["format"], buckets=_EXPORT_BUCKETS
)
EXPORTS_RUNNING: Final = Gauge("trawl_exports_running", "Exports being written by this process now.")
FILES_DELETED: Final = Counter(
    "trawl_export_files_deleted_total",
    "Export files the sweeper deleted, by why (expired, deleted).",
    ["reason"],
)
UPLOADS_ABORTED: Final = Counter(
    "trawl_export_uploads_aborted_total", "Stale multipart uploads of exports the sweeper aborted."
)
