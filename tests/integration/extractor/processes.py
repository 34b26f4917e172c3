"""A service as a separate OS process (to be killed), and pages long enough to make indexing
them take a while."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from shared.config import Settings


def article(number: int) -> bytes:
    paragraphs = "".join(
        f"<p>Field note {number}.{part}: the tide at station {number * 7 + part} ran "
        f"{part * 3 % 11} minutes late, and the gulls counted {number + part} came from the north "
        "before the weather turned; the keeper wrote it down with the barometer reading.</p>"
        for part in range(45)
    )
    return (
        f"<html lang='en'><head><title>Station log {number}</title></head><body><main><article>"
        f"<h1>Station log {number}</h1>{paragraphs}</article></main></body></html>"
    ).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def extractor_process(
    env: dict[str, str], log: Path
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return service_process("extractor", env, log)


@contextlib.contextmanager
def service_process(service: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A service in a child process, its output appended to `log` (a pipe nobody reads would
    stall it once full); stopped with SIGTERM at the end if the test has not killed it."""
    with log.open("ab") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"],
            env={**os.environ, **env},
            stdout=output,
            stderr=output,
        )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


def process_env(settings: Settings) -> dict[str, str]:
    """The environment of an extractor process on these settings, its internal HTTP on a free
    port that `trawl` commands reach (TRAWL_EXTRACTOR_INTERNAL_URL)."""
    port = free_port()
    return {
        "TRAWL_KAFKA_BOOTSTRAP": settings.kafka,
        "TRAWL_PG_DSN": settings.postgres_dsn,
        "TRAWL_S3_ENDPOINT": settings.s3_url,
        "TRAWL_S3_BUCKET": settings.s3_bucket,
        "TRAWL_TOPIC_PREFIX": settings.topic_prefix,
        "TRAWL_SCHEMA_PREFIX": settings.schema_prefix,
        "TRAWL_QDRANT_PATH": settings.qdrant_path or "",
        "TRAWL_INDEX_POLL_INTERVAL": "0.1",
        "TRAWL_INDEX_BATCH_CHUNKS": str(settings.index_batch_chunks),
        "TRAWL_REINDEX_PAGE_CHUNKS": str(settings.reindex_page_chunks),
        "TRAWL_HTTP_BASE_PORT": str(port - 2),  # the extractor listens on base + 2
        "TRAWL_EXTRACTOR_INTERNAL_URL": f"http://127.0.0.1:{port}",
    }
