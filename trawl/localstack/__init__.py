"""The local stack: Kafka, PostgreSQL and S3 as plain processes under `settings.home`, no Docker.

`up` starts whatever is not running yet (detached, so it outlives the CLI), `down` stops what it
started, `status` reports each piece. A piece whose `TRAWL_*` endpoint variable is set is external
and left alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from shared.config import Settings
from trawl.localstack.kafka import Kafka
from trawl.localstack.postgres import Postgres
from trawl.localstack.process import LocalComponent, Log, StackError, accepts_connections, exclusive_lock
from trawl.localstack.seaweed import Seaweed

__all__ = ["ComponentStatus", "StackError", "down", "ports", "redact_dsn", "status", "up"]


@dataclass(frozen=True)
class ComponentStatus:
    name: str  # "kafka" | "postgres" | "s3"
    state: str  # "running" | "stopped" | "external"
    address: str  # host:port, URL, or DSN without password
    pid: int | None
    detail: str = ""


def up(settings: Settings, log: Log = print, *, only: Collection[str] | None = None) -> None:
    """Start every local component (or those named in `only`: kafka, postgres, s3) that is not
    running yet and wait until each serves requests."""
    home = _home(settings)
    log = _serialised(log)
    with exclusive_lock(home / "localstack.lock", log):
        to_start = [
            component for component in _local(settings, home, log, only) if _needs_start(component, log)
        ]
        _in_parallel([_timed_start(component, log) for component in to_start])


def down(settings: Settings, log: Log = print, *, only: Collection[str] | None = None) -> None:
    """Stop the local components that trawl started; anything else is left running."""
    home = _home(settings)
    log = _serialised(log)
    with exclusive_lock(home / "localstack.lock", log):
        _in_parallel([_stopper(component, log) for component in _local(settings, home, log, only)])


def status(settings: Settings) -> list[ComponentStatus]:
    home = _home(settings)
    external = _external_addresses(settings)
    statuses = []
    for component in _components(settings, home):
        if component.name in external:
            detail = f"{component.external_env} is set"
            statuses.append(
                ComponentStatus(component.name, "external", external[component.name], None, detail)
            )
        else:
            statuses.append(_local_status(component))
    return statuses


def ports(settings: Settings) -> list[int]:
    """Every port the local stack of `settings` listens on (its home and port offset)."""
    return [
        port for component in _components(settings, _home(settings)) for port in component.ports().values()
    ]


def redact_dsn(dsn: str) -> str:
    """`dsn`, a URL (the only form asyncpg takes), without its password, for display."""
    parts = urlsplit(dsn)
    userinfo, at, host = parts.netloc.rpartition("@")
    netloc = userinfo.partition(":")[0] + at + host
    query = "&".join(item for item in parts.query.split("&") if item.partition("=")[0] != "password")
    # Joined by hand: urlunsplit would drop the empty host of `postgresql:///db?host=/run/pg`.
    redacted = f"{parts.scheme}://{netloc}{parts.path}"
    return redacted + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def _serialised(log: Log) -> Log:
    """`log` made safe to call from the worker threads, so lines never interleave."""
    lock = threading.Lock()

    def locked(line: str) -> None:
        with lock:
            log(line)

    return locked


def _home(settings: Settings) -> Path:
    # Absolute, so the paths in the processes' command lines (our fingerprints) never vary.
    home = settings.home.expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def _components(settings: Settings, home: Path) -> list[LocalComponent]:
    return [Kafka(home, settings), Postgres(home, settings), Seaweed(home, settings)]


def _external_addresses(settings: Settings) -> dict[str, str]:
    external = {}
    if settings.kafka_bootstrap is not None:
        external["kafka"] = settings.kafka_bootstrap
    if settings.pg_dsn is not None:
        external["postgres"] = redact_dsn(settings.pg_dsn)
    if settings.s3_endpoint is not None:
        external["s3"] = settings.s3_endpoint
    return external


def _local(settings: Settings, home: Path, log: Log, only: Collection[str] | None) -> list[LocalComponent]:
    """The components this stack manages, after noting the external ones it leaves alone."""
    external = _external_addresses(settings)
    local = []
    for component in _components(settings, home):
        if only is not None and component.name not in only:
            continue
        if component.name in external:
            log(f"{component.label}: external ({external[component.name]}), leaving it alone")
        else:
            local.append(component)
    return local


def _find_server(component: LocalComponent, log: Log) -> psutil.Process | None:
    """The component's running server, found through its pid file or, when that was lost, through
    the port it listens on (and recorded again); a stale pid file is cleared on the way."""
    proc = component.running()
    if proc is not None:
        return proc
    if component.clear_stale():
        log(f"{component.label}: cleared a stale pid file")
    proc = component.adopt_orphan()
    if proc is not None:
        log(f"{component.label}: found running without its pid file (pid {proc.pid}); pid file restored")
    return proc


def _needs_start(component: LocalComponent, log: Log) -> bool:
    proc = _find_server(component, log)
    if proc is not None:
        log(f"{component.label} already running (pid {proc.pid}) on {component.address()}")
        return False
    component.ensure_ports_free()
    return True


def _timed_start(component: LocalComponent, log: Log) -> Callable[[], None]:
    def start() -> None:
        began = time.monotonic()
        component.start(log)
        log(f"{component.label} ready on {component.address()} ({time.monotonic() - began:.1f}s)")

    return start


def _stopper(component: LocalComponent, log: Log) -> Callable[[], None]:
    def stop() -> None:
        proc = _find_server(component, log)
        if proc is None:
            log(f"{component.label} not running")
            return
        log(f"stopping {component.label} (pid {proc.pid}) …")
        component.stop(proc, log)
        log(f"{component.label} stopped")

    return stop


def _in_parallel(tasks: list[Callable[[], None]]) -> None:
    """Run `tasks` on threads and wait for all; raise their failures together."""
    if not tasks:
        return
    with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="localstack") as pool:
        futures = [pool.submit(task) for task in tasks]
        errors = [error for future in futures if (error := future.exception()) is not None]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise StackError("\n\n".join(str(error) for error in errors))


def _local_status(component: LocalComponent) -> ComponentStatus:
    proc = component.running()
    if proc is None:
        detail = "stale pid file" if component.pid_file.exists() else ""
        return ComponentStatus(component.name, "stopped", component.address(), None, detail)
    port = component.main_port()
    if accepts_connections(port):
        detail = f"log: {component.log_path}"
    else:
        detail = f"process alive but port {port} not accepting connections; log: {component.log_path}"
    return ComponentStatus(component.name, "running", component.address(), proc.pid, detail)
