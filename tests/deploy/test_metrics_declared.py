"""Every metric and label the deployed alerts, dashboards and KEDA queries read is declared by
the services' code, with those labels (prometheus_client's registry, in-process: this covers
families that have no samples yet, such as the llm and exporter ones, whose labels a scrape
cannot show). test_metrics_scrape.py checks the same against the running services' /metrics."""

from __future__ import annotations

import importlib

from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from shared.events import SERVICES
from tests.deploy.queries import deployed_queries, family_of, required_labels


def declared_families() -> dict[str, tuple[str, set[str]]]:
    """family name -> (type, label names), for every trawl_ metric the services define."""
    for service in SERVICES:
        importlib.import_module(f"services.{service}.app")
    families: dict[str, tuple[str, set[str]]] = {}
    # The registry knows collectors, not their label names; the metric objects do.
    for collector in list(REGISTRY._collector_to_names):
        if isinstance(collector, MetricWrapperBase) and collector._name.startswith("trawl_"):
            kind = collector._type
            name = collector._name + ("_total" if kind == "counter" else "")
            families[name] = (kind, set(collector._labelnames))
    return families


def test_every_queried_metric_and_label_is_declared(rendered: dict[str, str]) -> None:
    families = declared_families()
    histograms = {name for name, (kind, _) in families.items() if kind == "histogram"}
    problems = []
    for profile in ("production", "minimal"):
        for query in deployed_queries(rendered[profile]):
            for series in query.expression.selectors:
                family = family_of(series, histograms)
                if family not in families:
                    problems.append(f"{query.source}: {series} is declared by no service")
                    continue
                labels = families[family][1] | ({"le"} if series.endswith("_bucket") else set())
                missing = required_labels(query, series) - labels
                if missing:
                    problems.append(
                        f"{query.source}: {series} has no label {sorted(missing)} (it has {sorted(labels)})"
                    )
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_parser_sees_every_deployed_query(rendered: dict[str, str]) -> None:
    queries = deployed_queries(rendered["production"])
    sources = {query.source.split(",")[0] for query in queries}
    assert {"alert TrawlOutboxStalled", "alert TrawlExportsFailing", "dashboard trawl-overview"} <= sources
    assert any(source.startswith("ScaledObject") for source in sources)
    assert all(query.expression.selectors for query in queries)
