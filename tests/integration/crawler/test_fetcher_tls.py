"""The fetcher over TLS: HTTP/2 where the server offers it, HTTP/1.1 where it does not, and the
same SSRF guard and limits as over plain HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

from services.crawler.domain.fetching import FetchLimits
from services.crawler.domain.ssrf import AddressPolicy
from services.crawler.fetcher import Fetcher, FetchError
from tests.support import wait_until

BODY = b"<html><body>" + b"tls page " * 1000 + b"</body></html>"


async def app(
    scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
) -> None:
    assert scope["type"] == "http"
    if scope["path"] == "/bomb":
        body, headers = gzip.compress(bytes(64 * 1024 * 1024)), [(b"content-encoding", b"gzip")]
    else:
        body, headers = BODY, []
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html"), *headers]}
    )
    await send({"type": "http.response.body", "body": body})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def tls_server(tmp_path: Path, ca: trustme.CA, *, http2: bool) -> AsyncIterator[int]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    port = _free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(cert_file), str(key_file)
    config.alpn_protocols = ["h2", "http/1.1"] if http2 else ["http/1.1"]
    config.accesslog = config.errorlog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    await wait_until(lambda: _accepting(port), what=f"the TLS server on port {port}")
    try:
        yield port
    finally:
        stop.set()
        await server


async def _accepting(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.mark.parametrize("http2, version", [(True, "HTTP/2"), (False, "HTTP/1.1")])
async def test_https_speaks_http2_where_offered(
    tmp_path: Path, ca: trustme.CA, http2: bool, version: str
) -> None:
    async with tls_server(tmp_path, ca, http2=http2) as port:
        fetcher = Fetcher(AddressPolicy(["127.0.0.0/8"]), ssl_context=_trusting(ca))
        try:
            fetched = await fetcher.fetch(f"https://localhost:{port}/", headers={}, limits=FetchLimits())
            with pytest.raises(FetchError) as bomb:
                await fetcher.fetch(
                    f"https://localhost:{port}/bomb",
                    headers={},
                    limits=FetchLimits(max_body_bytes=1024 * 1024),
                )
        finally:
            await fetcher.aclose()
    assert (fetched.status, fetched.body, fetched.http_version) == (200, BODY, version)
    assert bomb.value.kind == "too_large"


async def test_https_refuses_loopback_unless_allowed(tmp_path: Path, ca: trustme.CA) -> None:
    async with tls_server(tmp_path, ca, http2=True) as port:
        fetcher = Fetcher(AddressPolicy(), ssl_context=_trusting(ca))
        try:
            with pytest.raises(FetchError) as refused:
                await fetcher.fetch(f"https://localhost:{port}/", headers={}, limits=FetchLimits())
        finally:
            await fetcher.aclose()
    assert refused.value.kind == "ssrf"
    assert "loopback" in str(refused.value)
