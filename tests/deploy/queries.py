"""Every PromQL query the rendered chart deploys: alert expressions (PrometheusRule), dashboard
panels and variables (the Grafana ConfigMaps), and KEDA's Prometheus triggers (ScaledObjects);
each parsed into the metrics and labels it reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.deploy.conftest import of_kind
from tests.deploy.promql import Expression, parse, parse_grafana_variable

# Labels Prometheus adds at scrape time (the ServiceMonitor's target labels), which no /metrics
# page carries. The queries may select on these without the services exporting them.
TARGET_LABELS = frozenset({"namespace", "job", "instance", "pod"})

# Suffixes of a histogram's series: the family `x` is exported as x_bucket{le}, x_sum, x_count.
_HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class Query:
    source: str  # where it is deployed, for the failure message
    dashboard: str | None  # the dashboard's file stem (overview, ingest, ...) or None
    expression: Expression


def _dashboard_queries(name: str, board: dict[str, Any]) -> list[Query]:
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            found.append(
                Query(f"dashboard {board['uid']}, panel {panel['title']!r}", name, parse(target["expr"]))
            )
    for variable in board.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            text = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            found.append(
                Query(
                    f"dashboard {board['uid']}, variable ${variable['name']}",
                    name,
                    parse_grafana_variable(text),
                )
            )
    return found


def deployed_queries(manifest: str) -> list[Query]:
    found = []
    for rule in of_kind(manifest, "PrometheusRule"):
        for group in rule["spec"]["groups"]:
            for alert in group["rules"]:
                found.append(Query(f"alert {alert['alert']}", None, parse(alert["expr"])))
    for config_map in of_kind(manifest, "ConfigMap"):
        for key, body in config_map.get("data", {}).items():
            if key.endswith(".json"):
                found += _dashboard_queries(key.removesuffix(".json"), json.loads(body))
    for scaled in of_kind(manifest, "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            if trigger["type"] == "prometheus":
                found.append(
                    Query(
                        f"ScaledObject {scaled['metadata']['name']}",
                        None,
                        parse(trigger["metadata"]["query"]),
                    )
                )
    return found


def family_of(series: str, histograms: set[str]) -> str:
    """The metric family a queried series name belongs to (x_bucket -> x for histograms)."""
    for suffix in _HISTOGRAM_SERIES:
        if series.endswith(suffix) and series.removesuffix(suffix) in histograms:
            return series.removesuffix(suffix)
    return series


def required_labels(query: Query, series: str) -> set[str]:
    """The labels a query needs on `series`: its own matchers, and the grouping labels of the
    expression (each query here groups only by labels all its metrics share; `le` only on
    histogram buckets), less the scrape-time target labels."""
    needed = set(query.expression.selectors[series])
    grouping = set(query.expression.grouping)
    if not series.endswith("_bucket"):
        grouping.discard("le")
    return (needed | grouping) - TARGET_LABELS
