"""The exporter's Prometheus metrics, defined ahead of its work (a later issue fills them):
the deployed alerts and dashboards already query these names and labels."""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import Counter, Histogram

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
