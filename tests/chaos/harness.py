"""The chaos run: the five services as OS processes (two crawler replicas) on a stack of its own,
one crawl of a generated site with an extractor schema, an LLM query and an export, while
processes are SIGKILLed, the broker, PostgreSQL and S3 restarted and poison events planted;
then what it made, measured (`tests.chaos.checks`). The same run without faults gives the
time to compare with."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from shared.config import Settings
from tests.chaos.checks import Line, Measures, lines, measure, render
from tests.chaos.faults import Chaos, CountingModel, FaultLog, discard, schedule
from tests.chaos.fleet import Fleet
from tests.chaos.site import ChaosSite, SiteShape
from tests.support import settings_env
from trawl import localstack
from trawl.api_commands import bootstrap_tenant
from trawl.localstack.process import port_in_use

SCHEMA = {
    "title": "Lamp",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "sku": {"type": "string"},
        "price": {"type": "number"},
        "material": {
            "type": "string",
            "x-trawl-selector": "p.material",
            "x-trawl-regex": "Material:\\s*(\\w+)",
        },
    },
    "required": ["name", "sku", "price", "material"],
}
QUERY = {
    "name": "pitch",
    "prompt": "Write a one-line sales pitch for this product.",
    "output_schema": {
        "type": "object",
        "properties": {"pitch": {"type": "string"}},
        "required": ["pitch"],
        "additionalProperties": False,
    },
}
# The export the run ends with: declared by the job, made by the exporter when the run completes.
EXPORT = {"dataset": "items", "format": "jsonl"}
# Shorter than the defaults, so that the work of a killed process is taken up within seconds.
LEASES = {
    "TRAWL_CRAWLER_LEASE_SECONDS": "10",
    "TRAWL_LLM_LEASE_SECONDS": "15",
    "TRAWL_EXPORTER_LEASE_SECONDS": "15",
    "TRAWL_EXPORTER_RETRY_SECONDS": "1",
}

# Faults due together (the work's progress jumps) strike at least this far apart.
FAULT_GAP_SECONDS = 2.0


@dataclass(frozen=True)
class Plan:
    pages: int = 1000
    kills: int = 20
    restarts: tuple[str, ...] = ("kafka", "postgres", "s3")
    poisons: int = 3
    seed: int = 18
    baseline: bool = True
    timeout: float = 1800.0


@dataclass
class RunResult:
    """One run as the harness saw it: its timing, the faults it took and, with faults, what it made."""

    run_id: str
    seconds: float | None = None  # to completion; None: not within the plan's timeout
    faults: FaultLog = field(default_factory=FaultLog)
    faults_after_completion: int = 0
    measures: Measures | None = None
    exits: dict[str, int] = field(default_factory=dict)  # processes that ended on their own


def stack_settings(home: Path) -> Settings:
    """A local stack of our own under `home`, on ports shifted past every taken one."""
    for offset in range(101, 20_000, 97):
        settings = Settings(
            home=home, local_port_offset=offset, kafka_bootstrap=None, pg_dsn=None, s3_endpoint=None
        )
        ports = localstack.ports(settings)
        if max(ports) < 65_000 and not any(port_in_use(port) for port in ports):
            return settings
    raise RuntimeError("no free block of ports for a second local stack")


def job_body(site: ChaosSite, schema_id: str) -> dict[str, Any]:
    return {
        "name": "chaos",
        "kind": "scrape",
        "seeds": [site.url("/")],
        "pagination": {"type": "next_button", "next_selector": "a.next"},
        "extractor_schema_id": schema_id,
        "options": {"schema_url_patterns": ["/product/"], "sitemaps": False},
        "llm_queries": [QUERY],
        "exports": [EXPORT],
        "limits": {"max_pages": 100_000, "max_depth": 100},
    }


async def one_run(
    phase: str, stack: Settings, site: ChaosSite, plan: Plan, workdir: Path, *, faults: bool
) -> RunResult:
    settings = stack.model_copy(
        update={"topic_prefix": f"{phase}.", "schema_prefix": f"{phase}_", "s3_bucket": f"trawl-{phase}"}
    )
    async with CountingModel(delay_seconds=0.05) as model:
        env = settings_env(
            settings,
            TRAWL_HOME=str(stack.home),
            TRAWL_S3_BUCKET=settings.s3_bucket,
            TRAWL_QDRANT_PATH=str(workdir / f"vectors-{phase}"),
            TRAWL_CRAWLER_ALLOWED_NETWORKS=json.dumps(["127.0.0.0/8"]),
            TRAWL_LLM_URL=model.api_url,
            TRAWL_LLM_API_KEY=model.api_key,
            TRAWL_LLM_POLL_SECONDS="0.2",
            TRAWL_LOG_LEVEL="WARNING",
            **LEASES,
        )
        fleet = Fleet(env, workdir / "logs" / phase)
        await fleet.start_all()
        try:
            made = await bootstrap_tenant(settings, f"chaos-{phase}-{uuid4().hex[:6]}", "chaos@localhost")
            async with _api(fleet.api, made.key.plaintext) as http:
                created = await http.post(
                    "/v1/extractor-schemas", json={"name": "lamp", "definition": SCHEMA}
                )
                created.raise_for_status()
                job = (await http.post("/v1/jobs", json=job_body(site, created.json()["id"]))).json()
                run_id = (await http.post(f"/v1/jobs/{job['id']}/runs", json={})).json()["id"]
                rng = random.Random(f"{plan.seed}-{phase}")
                chaos = Chaos(fleet, stack, settings, model, rng) if faults else None
                result = RunResult(run_id)
                await _until_done(http, fleet, result, site.shape, plan, chaos)
                if chaos is not None:
                    result.faults = chaos.log
                    # Faults may have restarted processes at the end: the checks read a ready system.
                    for member in fleet.members:
                        await fleet.wait_ready(member)
                    result.exits = {member.name: member.exits for member in fleet.members if member.exits}
                    result.measures = await measure(http, settings, fleet.env, run_id, site.shape, model)
            return result
        finally:
            fleet.stop_all()


async def _until_done(
    http: httpx.AsyncClient,
    fleet: Fleet,
    result: RunResult,
    shape: SiteShape,
    plan: Plan,
    chaos: Chaos | None,
) -> None:
    """Wait for the run, its LLM tasks and its export to complete, striking each fault when its
    share of the work is done; a fault still due at the end strikes then."""
    pending = (
        schedule(
            random.Random(plan.seed), kills=plan.kills, restarts=list(plan.restarts), poisons=plan.poisons
        )
        if chaos is not None
        else []
    )
    work = 2 * len(shape.reachable()) + shape.products
    began = quiet_until = time.monotonic()
    while time.monotonic() - began < plan.timeout:
        fleet.revive()
        state = await _state(http, result.run_id, shape.products)
        if state is not None:
            done, progress = state
            due = pending and (progress / work >= pending[0].at and time.monotonic() >= quiet_until)
            if chaos is not None and (done or due) and pending:
                result.faults_after_completion += done
                struck = await chaos.strike(pending.pop(0))
                print(f"{time.monotonic() - began:6.1f} s  {progress / work:4.0%} of the work  {struck}")
                quiet_until = time.monotonic() + FAULT_GAP_SECONDS
            if done and not pending:
                result.seconds = time.monotonic() - began
                return
        await asyncio.sleep(0.5)


async def _state(http: httpx.AsyncClient, run_id: str, products: int) -> tuple[bool, int] | None:
    """(run, LLM tasks and export all completed; work done), or None while the API cannot say."""
    try:
        run = (await http.get(f"/v1/runs/{run_id}")).raise_for_status().json()
        exports = (await http.get("/v1/exports", params={"run_id": run_id})).raise_for_status().json()
        sessions = (await http.get("/v1/llm/sessions")).raise_for_status().json()["sessions"]
    except (httpx.HTTPError, ValueError):
        return None
    progress = run["progress"]
    tasks: dict[str, int] = next(
        (session["tasks"] for session in sessions if session["run_id"] == run_id), {}
    )
    done = (
        run["status"] == "completed"
        and tasks == {"completed": products}
        and any(export["status"] == "completed" for export in exports["exports"])
    )
    return done, progress["pages_fetched"] + progress["extractor_outcomes"] + progress["llm_tasks_done"]


def _api(url: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


@dataclass
class Report:
    plan: Plan
    shape: SiteShape
    chaos: RunResult
    baseline: RunResult | None


async def chaos_run(plan: Plan, workdir: Path) -> Report:
    """Both runs on a stack of our own under `workdir`, torn down at the end."""
    stack = stack_settings(workdir / "home")
    await asyncio.to_thread(localstack.up, stack, discard)
    try:
        shape = SiteShape.about(plan.pages)
        async with ChaosSite(shape) as site:
            baseline = (
                await one_run("base", stack, site, plan, workdir, faults=False) if plan.baseline else None
            )
            chaos = await one_run("chaos", stack, site, plan, workdir, faults=True)
        return Report(plan, shape, chaos, baseline)
    finally:
        await asyncio.to_thread(localstack.down, stack, discard)


def table(report: Report) -> tuple[str, bool]:
    """The report as a table, and whether every line holds."""
    chaos, plan = report.chaos, report.plan
    rows = (
        lines(
            report.shape,
            chaos.measures,
            planted=chaos.faults.planted,
            in_flight=chaos.faults.llm_in_flight_at_kills,
        )
        if chaos.measures is not None
        else []
    )
    log = chaos.faults
    hit = Counter(log.kills)
    rows += [
        Line(
            "kill -9 (each restarted)",
            str(plan.kills),
            f"{len(log.kills)}: " + ", ".join(f"{name} x{n}" for name, n in sorted(hit.items())),
            len(log.kills) == plan.kills,
        ),
        Line(
            "restarts of the stack",
            "+".join(plan.restarts) or "-",
            ", ".join(
                f"{piece} ({seconds:.0f} s to stop and start)" for piece, seconds in log.restarts.items()
            )
            or "-",
            sorted(log.restarts) == sorted(plan.restarts),
        ),
        Line(
            "poison events planted",
            str(plan.poisons),
            str(len(log.planted)),
            len(log.planted) == plan.poisons,
        ),
        Line(
            "faults after the end; processes that exited",
            "-",
            f"{chaos.faults_after_completion}; "
            + (", ".join(f"{name} x{n}" for name, n in chaos.exits.items()) or "none"),
            True,
        ),
    ]
    base = report.baseline.seconds if report.baseline is not None else None
    ratio = f"{chaos.seconds / base:.2f}x" if chaos.seconds and base else "-"
    rows.append(
        Line(
            "time to completion (with faults / without)",
            f"{base:.0f} s" if base else "-",
            f"{chaos.seconds:.0f} s, ratio {ratio}" if chaos.seconds else f"not within {plan.timeout:.0f} s",
            chaos.seconds is not None,
        )
    )
    return render(rows), all(row.ok for row in rows)
