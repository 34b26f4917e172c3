"""Writes the Grafana dashboards the chart ships (deploy/helm/trawl/dashboards/*.json): an
overview and one per service, every query against the metrics the services export.

The JSON is generated so that the six dashboards share one layout and one set of variables,
and so that a query is written once; tests/deploy checks that the committed files are what
this script writes and that every metric and label they query is on the services' /metrics.

Usage: .venv/bin/python deploy/tools/dashboards.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "helm" / "trawl" / "dashboards"

NS = 'namespace="$namespace"'
RATE = "[$__rate_interval]"
FAILED = ', outcome=~"retried|dead_lettered"'


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    description: str = ""


def rate(metric: str, selector: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{selector}}}{RATE}))"


def p95(metric: str, selector: str, by: str) -> str:
    group = f"le, {by}" if by else "le"
    return f"histogram_quantile(0.95, sum by ({group}) (rate({metric}_bucket{{{selector}}}{RATE})))"


def shared_panels(service: str) -> list[Panel]:
    """The event pipeline of one service: the shared trawl_* families, selected by service."""
    sel = f'{NS}, service="{service}"'
    return [
        Panel(
            "Events consumed",
            (
                (
                    rate("trawl_events_consumed_total", sel, "event_type, outcome"),
                    "{{event_type}} {{outcome}}",
                ),
            ),
            "ops",
        ),
        Panel("Handler p95", ((p95("trawl_handler_seconds", sel, "event_type"), "{{event_type}}"),), "s"),
        Panel("Events published", ((rate("trawl_events_produced_total", sel, "topic"), "{{topic}}"),), "ops"),
        Panel(
            "Outbox",
            (
                (f"max(trawl_outbox_oldest_age_seconds{{{sel}}})", "oldest row age (s)"),
                (f"max(trawl_outbox_pending{{{sel}}})", "pending rows"),
            ),
            "short",
            "Rows written by handlers and not yet published by the relay.",
        ),
        Panel("Consumer lag", ((f"sum by (topic) (trawl_consumer_lag{{{sel}}})", "{{topic}}"),), "short"),
        Panel(
            "Dead letters", ((rate("trawl_dlq_total", sel, "topic, reason"), "{{topic}} {{reason}}"),), "ops"
        ),
    ]


SERVICE_PANELS: dict[str, list[Panel]] = {
    "ingest": [
        Panel(
            "API requests",
            ((rate("trawl_api_requests_total", NS, "route, status"), "{{route}} {{status}}"),),
            "reqps",
        ),
        Panel("API p95 latency", ((p95("trawl_api_request_seconds", NS, "route"), "{{route}}"),), "s"),
        Panel(
            "Auth failures", ((rate("trawl_api_auth_failures_total", NS, "reason"), "{{reason}}"),), "reqps"
        ),
        Panel("Rate limited", ((f"sum(rate(trawl_api_rate_limited_total{{{NS}}}{RATE}))", "429s"),), "reqps"),
        Panel("Runs", ((rate("trawl_runs_total", NS, "status"), "{{status}}"),), "ops"),
        Panel(
            "Kafka intake", ((rate("trawl_intake_submissions_total", NS, "outcome"), "{{outcome}}"),), "ops"
        ),
    ],
    "crawler": [
        Panel(
            "Fetches",
            (
                (
                    rate("trawl_crawler_fetches_total", NS, "outcome, status_class"),
                    "{{outcome}} {{status_class}}",
                ),
            ),
            "ops",
        ),
        Panel(
            "Fetched bytes",
            ((f"sum(rate(trawl_crawler_fetch_bytes_total{{{NS}}}{RATE}))", "bytes/s"),),
            "Bps",
        ),
        Panel("Fetch p95", ((p95("trawl_crawler_fetch_seconds", NS, ""), "p95"),), "s"),
        Panel(
            "Frontier",
            (
                (f"max(trawl_crawler_frontier_queued{{{NS}}})", "queued"),
                (f"sum(trawl_crawler_in_flight{{{NS}}})", "in flight"),
            ),
            "short",
        ),
        Panel(
            "Refusals and retries",
            (
                (f"sum(rate(trawl_crawler_robots_denials_total{{{NS}}}{RATE}))", "robots.txt"),
                (f"sum(rate(trawl_crawler_ssrf_refusals_total{{{NS}}}{RATE}))", "SSRF guard"),
                (f"sum(rate(trawl_crawler_retries_total{{{NS}}}{RATE}))", "retries"),
            ),
            "ops",
        ),
    ],
    "extractor": [
        Panel(
            "Documents",
            (
                (
                    rate("trawl_extractor_documents_total", NS, "document_type, outcome"),
                    "{{document_type}} {{outcome}}",
                ),
            ),
            "ops",
        ),
        Panel(
            "Chunks written",
            ((rate("trawl_extractor_chunks_total", NS, "document_type"), "{{document_type}}"),),
            "ops",
        ),
        Panel(
            "Extraction p95",
            ((p95("trawl_extractor_extraction_seconds", NS, "document_type"), "{{document_type}}"),),
            "s",
        ),
        Panel(
            "Embedding",
            (
                (p95("trawl_embedding_batch_seconds", NS, "backend"), "p95 batch {{backend}}"),
                (p95("trawl_embedding_batch_size", NS, "backend"), "p95 size {{backend}}"),
            ),
            "short",
        ),
        Panel(
            "Index backlog",
            (
                (f"sum(trawl_extractor_index_pending_chunks{{{NS}}})", "pending chunks"),
                (f"max(trawl_extractor_index_oldest_pending_seconds{{{NS}}})", "oldest (s)"),
            ),
            "short",
        ),
        Panel(
            "Chunks indexed", ((f"sum(rate(trawl_chunks_indexed_total{{{NS}}}{RATE}))", "chunks/s"),), "ops"
        ),
        Panel("Search p95", ((p95("trawl_search_seconds", NS, "mode"), "{{mode}}"),), "s"),
    ],
    "llm": [
        Panel(
            "LLM tasks",
            ((rate("trawl_llm_tasks_total", NS, "model, outcome"), "{{model}} {{outcome}}"),),
            "ops",
        ),
        Panel(
            "Tokens", ((rate("trawl_llm_tokens_total", NS, "model, kind"), "{{model}} {{kind}}"),), "short"
        ),
        Panel("Call p95", ((p95("trawl_llm_call_seconds", NS, "model"), "{{model}}"),), "s"),
    ],
    "exporter": [
        Panel(
            "Exports",
            ((rate("trawl_exports_total", NS, "format, outcome"), "{{format}} {{outcome}}"),),
            "ops",
        ),
        Panel("Rows exported", ((rate("trawl_export_rows_total", NS, "format"), "{{format}}"),), "short"),
        Panel("Bytes exported", ((rate("trawl_export_bytes_total", NS, "format"), "{{format}}"),), "Bps"),
        Panel("Export p95", ((p95("trawl_export_seconds", NS, "format"), "{{format}}"),), "s"),
    ],
}

OVERVIEW = [
    Panel(
        "Events consumed by service",
        ((rate("trawl_events_consumed_total", NS, "service"), "{{service}}"),),
        "ops",
    ),
    Panel(
        "Handler error ratio",
        (
            (
                rate("trawl_events_consumed_total", NS + FAILED, "service")
                + " / "
                + rate("trawl_events_consumed_total", NS, "service"),
                "{{service}}",
            ),
        ),
        "percentunit",
    ),
    Panel(
        "Outbox oldest row",
        ((f"max by (service) (trawl_outbox_oldest_age_seconds{{{NS}}})", "{{service}}"),),
        "s",
    ),
    Panel(
        "Consumer lag", ((f"sum by (service, topic) (trawl_consumer_lag{{{NS}}})", "{{service}} {{topic}}"),)
    ),
    Panel("Dead letters", ((rate("trawl_dlq_total", NS, "service, topic"), "{{service}} {{topic}}"),), "ops"),
    Panel(
        "API requests by status", ((rate("trawl_api_requests_total", NS, "status"), "{{status}}"),), "reqps"
    ),
    Panel("API p95 latency", ((p95("trawl_api_request_seconds", NS, ""), "p95"),), "s"),
    Panel("Pages fetched", ((f"sum(rate(trawl_crawler_fetches_total{{{NS}}}{RATE}))", "fetches/s"),), "ops"),
    Panel(
        "Index backlog age", ((f"max(trawl_extractor_index_oldest_pending_seconds{{{NS}}})", "oldest"),), "s"
    ),
    Panel("LLM tasks", ((rate("trawl_llm_tasks_total", NS, "outcome"), "{{outcome}}"),), "ops"),
    Panel("Exports", ((rate("trawl_exports_total", NS, "outcome"), "{{outcome}}"),), "ops"),
]


def panel_json(panel: Panel, index: int) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [
            {"refId": chr(ord("A") + n), "expr": expr, "legendFormat": legend, "range": True}
            for n, (expr, legend) in enumerate(panel.queries)
        ],
    }


def dashboard(uid: str, title: str, panels: list[Panel]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["trawl"],
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
                {
                    "name": "namespace",
                    "label": "Namespace",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": {"query": "label_values(trawl_events_consumed_total, namespace)", "refId": "ns"},
                    "definition": "label_values(trawl_events_consumed_total, namespace)",
                    "refresh": 2,
                },
            ]
        },
        "panels": [panel_json(panel, index) for index, panel in enumerate(panels)],
    }


def dashboards() -> dict[str, dict[str, Any]]:
    out = {"overview": dashboard("trawl-overview", "Trawl / Overview", OVERVIEW)}
    for service, own in SERVICE_PANELS.items():
        out[service] = dashboard(f"trawl-{service}", f"Trawl / {service}", own + shared_panels(service))
    return out


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed files differ")
    args = parser.parse_args()
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, board in dashboards().items():
        path = OUT / f"{name}.json"
        if args.check:
            if not path.exists() or path.read_text() != render(board):
                stale.append(str(path))
        else:
            path.write_text(render(board))
    if stale:
        print("stale dashboards (run deploy/tools/dashboards.py):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
