"""Each service run as its own process (`python -m services.<name>`, as in the image) against the
real Kafka, PostgreSQL and S3; its /metrics scraped; every metric and label that the deployed
alerts, dashboards and KEDA queries read (parsed from the rendered chart) must be there.

What is checked, precisely:
* every queried series (x, x_total, x_bucket ...) belongs to a metric family that a scraped
  /metrics lists (its # HELP / # TYPE lines), on the service whose dashboard queries it, on any
  service for the overview, the alerts and KEDA;
* where that series has samples (on the services above, else on any service: a family's labels
  are declared once in code), every label the query selects or groups by is on them (the
  scrape-time target labels namespace/job/instance/pod aside). A labelled family that
  no event has moved yet (the llm and exporter ones, the crawler's and extractor's work) has no
  samples, so only its family is checked here (ingest is given a rejected submission and an
  undecodable record first, so the shared event, handler and DLQ families have samples);
  test_metrics_declared.py checks the label names of every family in the services' code.
  The test prints how many series it checked each way.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from shared.config import Settings
from shared.events import SERVICES, JobSubmitted
from shared.producer import publish_direct
from shared.topics import topic_for
from tests.deploy.queries import deployed_queries, required_labels
from tests.support import settings_env, wait_until

pytestmark = pytest.mark.integration

_SERIES_OF = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created", ""),
    "gauge": ("",),
    "untyped": ("",),
}


@dataclass
class Scrape:
    """One /metrics page: the series names its families offer, and the label names seen per series."""

    service: str
    offered: set[str] = field(default_factory=set)
    labels: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, service: str, text: str) -> Scrape:
        scrape = cls(service)
        for family in text_string_to_metric_families(text):
            scrape.offered |= {family.name + suffix for suffix in _SERIES_OF.get(family.type, ("",))}
            for sample in family.samples:
                scrape.labels.setdefault(sample.name, set()).update(sample.labels)
        return scrape


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_REPORTING = ("trawl_outbox_pending{", "trawl_consumer_lag{")
# What the submissions sent to ingest (below) leave on its /metrics.
_INGEST_HANDLED = ("trawl_intake_submissions_total{", "trawl_handler_seconds_bucket{", "trawl_dlq_total{")


async def _scrape_when_reporting(client: httpx.AsyncClient, expected: tuple[str, ...]) -> str:
    """/metrics once the relay and the lag monitor have reported (their gauges have samples) and
    the `expected` families have samples too."""

    async def reporting() -> str | None:
        try:
            text = (await client.get("/metrics")).text
        except httpx.TransportError:
            return None
        return text if all(family in text for family in expected) else None

    text = await wait_until(reporting, within=90, interval=0.5)
    assert text, f"{client.base_url}: /metrics never showed samples of all of {expected}"
    return str(text)


async def _submit_work_for_ingest(settings: Settings) -> None:
    """A JobSubmitted the intake rejects and an undecodable record that goes straight to the DLQ:
    handled events, a rejection and a dead letter, without fetching anything from any network."""
    rejected = JobSubmitted(
        tenant_id=uuid4(),
        submission_id=uuid4(),
        config={"seeds": ["ftp://nope"], "limits": {"max_pages": -1}},
    )
    await publish_direct(settings, [rejected])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topic_for(JobSubmitted, settings.topic_prefix), b"not an event")
    finally:
        await producer.stop()


@pytest.fixture
async def scrapes(settings: Settings) -> AsyncIterator[dict[str, Scrape]]:
    ports = {service: _free_port() for service in SERVICES}
    processes = {}
    for service, port in ports.items():
        env = settings_env(
            settings,
            TRAWL_HTTP_BASE_PORT=str(port - SERVICES.index(service)),
            TRAWL_QDRANT_PATH=":memory:",
            TRAWL_LOG_LEVEL="WARNING",
        )
        processes[service] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{service}", env=env, stdout=asyncio.subprocess.DEVNULL
        )
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            ingest = f"http://127.0.0.1:{ports['ingest']}"
            # Requests without a key: samples for the API families and their labels.
            assert await wait_until(lambda: _answers(client, f"{ingest}/healthz"), within=90, interval=0.5)
            for path in ("/v1/me", "/v1/runs"):
                assert (await client.get(f"{ingest}{path}")).status_code == 401
            await _submit_work_for_ingest(settings)
            clients = [
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) for port in ports.values()
            ]
            try:
                texts = await asyncio.gather(
                    *(
                        _scrape_when_reporting(
                            each, _REPORTING + (_INGEST_HANDLED if service == "ingest" else ())
                        )
                        for service, each in zip(ports, clients, strict=True)
                    )
                )
            finally:
                await asyncio.gather(*(each.aclose() for each in clients))
        yield {service: Scrape.parse(service, text) for service, text in zip(ports, texts, strict=True)}
    finally:
        for process in processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _answers(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.TransportError:
        return False


async def test_every_queried_metric_and_label_is_on_the_services_metrics(
    scrapes: dict[str, Scrape], rendered: dict[str, str]
) -> None:
    problems: list[str] = []
    with_labels: set[str] = set()
    family_only: set[str] = set()
    for query in deployed_queries(rendered["production"]) + deployed_queries(rendered["minimal"]):
        # A service's own dashboard must be served by that service; the rest by any of them.
        sources = [scrapes[query.dashboard]] if query.dashboard in scrapes else list(scrapes.values())
        for series in query.expression.selectors:
            offering = [scrape for scrape in sources if series in scrape.offered]
            if not offering:
                where = query.dashboard if query.dashboard in scrapes else "any service"
                problems.append(f"{query.source}: {series} is not on the /metrics of {where}")
                continue
            sampled = [scrape.labels[series] for scrape in offering if series in scrape.labels]
            # A family's labels are declared once in code: samples on another service show them too.
            sampled = sampled or [
                scrape.labels[series] for scrape in scrapes.values() if series in scrape.labels
            ]
            if not sampled:
                family_only.add(series)
                continue
            with_labels.add(series)
            seen = set().union(*sampled)
            missing = required_labels(query, series) - seen
            if missing:
                problems.append(
                    f"{query.source}: {series} has no label {sorted(missing)} on /metrics"
                    f" (seen: {sorted(seen)})"
                )
    family_only -= with_labels
    print(
        f"\nscraped {len(scrapes)} services: {len(with_labels)} queried series checked with their labels, "
        f"{len(family_only)} by family only (no samples yet): {', '.join(sorted(family_only))}"
    )
    assert not problems, "\n".join(sorted(set(problems)))
    assert with_labels, "no queried series had samples: the scrape checked no label at all"
