"""The public API under load: many concurrent clients reading runs, searching and creating jobs.

    python -m bench.api_load [--clients 200] [--seconds 60] [--mix run=0.6,search=0.3,create_job=0.1]

Starts ingest, the extractor and the crawler as separate processes, as deployed (`python -m
services.<name>`, isolated topics and schemas, the default rate limit of 20 requests/s and
bursts of 100 per key), gives them a
tenant, one API key per client and a run of the demo site's pages uploaded and indexed, then
runs `--clients` asyncio clients for `--seconds`, each in a loop: by default 60 %
`GET /v1/runs/{id}`, 30 % `POST /v1/search` (hybrid), 10 % `POST /v1/jobs`. Prints requests/s,
latency p50 / p95 / p99 per kind, every status seen and the CPU each service process used;
anything but 2xx and 429 is an error, and exits 1 when there is one. Client and server share
the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from uuid import uuid4

import httpx
import psutil

from shared.config import Settings
from shared.logging import configure_logging
from tests.support import drop_isolated, wait_until
from trawl import localstack
from trawl.api_commands import bootstrap_tenant
from trawl.demo import DEMO_SITE

QUERIES = ("lighthouse keeper lamp", "harbour tide tables", "waterproof deck lantern", "rope and knots")
WEIGHTS = {"run": 0.6, "search": 0.3, "create_job": 0.1}


def mix(text: str) -> dict[str, float]:
    weights = {name: float(share) for name, share in (part.split("=") for part in text.split(","))}
    unknown = set(weights) - set(WEIGHTS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kinds {sorted(unknown)}; known: {sorted(WEIGHTS)}")
    return weights


def free_port_block(size: int = 5) -> int:
    """A base port with `size` free ports after it (the services' health/HTTP ports)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size < 65535 and all(_free(base + n) for n in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def wait_ready(url: str, within: float = 120) -> None:
    async with httpx.AsyncClient() as client, asyncio.timeout(within):
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)


async def prepare(api: str, admin_key: str, clients: int) -> tuple[list[str], str]:
    """One key per client, and a completed run of the demo site's pages to read and search."""
    async with httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {admin_key}"}) as admin:
        keys = []
        while len(keys) < clients:  # at the admin key's own rate
            made = await admin.post(
                "/v1/keys", json={"name": f"load-{len(keys)}", "scopes": ["read", "write"]}
            )
            if made.status_code == 429:
                await asyncio.sleep(float(made.headers.get("retry-after", "1")))
                continue
            made.raise_for_status()
            keys.append(made.json()["key"])
        pages = sorted(DEMO_SITE.rglob("*.html"))[:20]
        files = [("files", (path.name, path.read_bytes(), "text/html")) for path in pages]
        upload = (await admin.post("/v1/uploads", files=files, timeout=60)).json()
        run_id = upload["run"]["id"]

        async def indexed() -> bool:
            return bool((await admin.get(f"/v1/runs/{run_id}")).json()["status"] == "completed")

        await wait_until(indexed, within=300, interval=1, what="the uploaded pages indexed")
    return keys, run_id


async def client_loop(
    api: str,
    key: str,
    run_id: str,
    deadline: float,
    weights: dict[str, float],
    results: dict[str, list[tuple[int, float]]],
) -> None:
    rng = random.Random(key)
    kinds, shares = list(weights), list(weights.values())
    async with httpx.AsyncClient(
        base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as http:
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, shares)[0]
            started = time.perf_counter()
            try:
                if kind == "run":
                    response = await http.get(f"/v1/runs/{run_id}")
                elif kind == "search":
                    body = {"query": rng.choice(QUERIES), "run_id": run_id, "limit": 5}
                    response = await http.post("/v1/search", json=body)
                else:
                    job = {"name": f"load {uuid4().hex[:8]}", "seeds": ["https://example.com/"]}
                    response = await http.post("/v1/jobs", json=job)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            results[kind].append((status, time.perf_counter() - started))
            if status == 429:
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))


def percentile(values: list[float], share: float) -> float:
    return (
        statistics.quantiles(values, n=1000, method="inclusive")[int(share * 1000) - 1]
        if len(values) > 1
        else 0
    )


async def main(args: argparse.Namespace, settings: Settings) -> int:
    tag = uuid4().hex[:8]
    base_port = free_port_block()
    isolated = settings.model_copy(
        update={"topic_prefix": f"load{tag}.", "schema_prefix": f"load{tag}_", "http_base_port": base_port}
    )
    env = {
        **os.environ,
        "TRAWL_TOPIC_PREFIX": isolated.topic_prefix,
        "TRAWL_SCHEMA_PREFIX": isolated.schema_prefix,
        "TRAWL_HTTP_BASE_PORT": str(base_port),
        "TRAWL_LOG_LEVEL": "WARNING",
        "TRAWL_QDRANT_PATH": ":memory:",
    }
    names = ("ingest", "extractor", "crawler")
    services = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{name}", env=env, cwd=Path(__file__).parents[1]
        )
        for name in names
    ]
    processes = [psutil.Process(process.pid) for process in services]
    api = f"http://127.0.0.1:{base_port}"
    try:
        await wait_ready(f"{api}/readyz")
        made = await bootstrap_tenant(isolated, f"load-{tag}", "load@localhost")
        keys, run_id = await prepare(api, made.key.plaintext, args.clients)
        results: dict[str, list[tuple[int, float]]] = defaultdict(list)
        cpu_before = [sum(process.cpu_times()[:2]) for process in processes]
        deadline = time.monotonic() + args.seconds
        await asyncio.gather(*(client_loop(api, key, run_id, deadline, args.mix, results) for key in keys))
        cpu = [
            sum(process.cpu_times()[:2]) - before
            for process, before in zip(processes, cpu_before, strict=True)
        ]
    finally:
        for process in services:
            process.terminate()
            await process.wait()
        await drop_isolated(isolated)
    total = sum(len(done) for done in results.values())
    print(f"{args.clients} clients, {args.seconds} s, one key each (20 req/s, bursts of 100 per key)")
    print(f"{total:,} requests = {total / args.seconds:,.0f} requests/s")
    print(f"{'kind':<11} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    errors = 0
    for kind, done in sorted(results.items()):
        seconds = [elapsed * 1000 for _, elapsed in done]
        statuses = Counter(status for status, _ in done)
        errors += sum(
            count for status, count in statuses.items() if not (200 <= status < 300 or status == 429)
        )
        print(
            f"{kind:<11} {len(done):>8,} {percentile(seconds, 0.5):>8.0f} {percentile(seconds, 0.95):>8.0f} "
            f"{percentile(seconds, 0.99):>8.0f}  {dict(sorted(statuses.items()))}"
        )
    busy = ", ".join(f"{name} {seconds / args.seconds:.0%}" for name, seconds in zip(names, cpu, strict=True))
    print(f"CPU of each service process meanwhile (100 % = one core): {busy}")
    print(f"errors (not 2xx, not 429): {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--mix", type=mix, default=WEIGHTS, help="kind=share,... of run, search, create_job")
    settings = Settings(log_level="WARNING")
    configure_logging("bench", settings.log_level, settings.log_json)
    if any(component.state == "stopped" for component in localstack.status(settings)):
        localstack.up(settings)
    sys.exit(asyncio.run(main(parser.parse_args(), settings)))
