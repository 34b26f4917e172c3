"""HTTP fetching with every limit a crawler needs, and the SSRF guard at connect time.

One `Fetcher` per process: a pooled httpx client (HTTP/2 where the server offers it over
TLS), redirects followed by hand so that each hop is checked, bodies streamed through a
bounded decoder (size and decompression limits), and a network backend that resolves each
host itself and refuses addresses the `AddressPolicy` forbids — after DNS resolution, so a
hostname pointing at 127.0.0.1 or 169.254.169.254 is refused like the literal would be.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from services.crawler.domain.decoding import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    BoundedDecoder,
    UnsupportedEncoding,
)
from services.crawler.domain.ssrf import AddressPolicy, SsrfRefused, literal_address
from services.crawler.domain.urls import canonical_url

RedirectCheck = Callable[[str], Awaitable[str | None]]
"""Given a redirect target, the reason it may not be followed, or None."""
Pacer = Callable[[str], Awaitable[None]]
"""Waits until a request to this URL is polite (each redirect hop is a request of its own)."""


@dataclass(frozen=True)
class FetchLimits:
    max_body_bytes: int = 20 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_redirects: int = 10


@dataclass(frozen=True)
class Fetched:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    redirects: tuple[str, ...]
    elapsed: float
    http_version: str

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class FetchError(Exception):
    """A fetch that produced no usable response; `retryable` says whether trying later may help."""

    def __init__(self, kind: str, message: str, *, retryable: bool, final_url: str | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.retryable = retryable
        self.final_url = final_url


@dataclass
class _Hop:
    url: str
    redirects: list[str] = field(default_factory=list)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves hosts itself and connects only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self.resolve(host, port)
        return await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)

    async def resolve(self, host: str, port: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        """The address to connect to; every address the name resolves to must be allowed, so
        DNS answers mixing public and private addresses cannot pick the private one later."""
        literal = literal_address(host)
        if literal is not None:
            candidates = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
                )
            except socket.gaierror as exc:
                raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
            candidates = [ipaddress.ip_address(info[4][0]) for info in infos]
        for address in candidates:
            reason = self._policy.refusal(address)
            if reason is not None:
                raise SsrfRefused(host, address, reason)
        return candidates[0]

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Fetcher:
    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_connections: int = 100,
        max_connections_per_host: int | None = None,
        http2: bool = True,
    ) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        transport = httpx.AsyncHTTPTransport(http2=http2, limits=limits)
        # httpx builds its pool without a way to pass a network backend; swap in one that
        # carries the SSRF guard, configured the same way.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            http1=True,
            http2=http2,
            network_backend=GuardedBackend(policy),
        )
        self._client = httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)
        self.policy = policy

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        headers: dict[str, str],
        limits: FetchLimits,
        check_redirect: RedirectCheck | None = None,
        pace: Pacer | None = None,
    ) -> Fetched:
        started = time.monotonic()
        hop = _Hop(url)
        seen = {canonical_url(url)}
        try:
            async with asyncio.timeout(limits.total_timeout):
                while True:
                    response = await self._get(hop.url, headers, limits)
                    if response is None:
                        continue  # unreachable: _get returns a response or raises
                    status, response_headers, body, http_version = response
                    location = response_headers.get("location")
                    if status not in _REDIRECTS or not location:
                        return Fetched(
                            url=url,
                            final_url=hop.url,
                            status=status,
                            headers=response_headers,
                            body=body,
                            redirects=tuple(hop.redirects),
                            elapsed=time.monotonic() - started,
                            http_version=http_version,
                        )
                    await self._follow(hop, location, seen, limits, check_redirect)
                    if pace is not None:
                        await pace(hop.url)
        except TimeoutError as exc:
            raise FetchError(
                "timeout",
                f"no complete response within {limits.total_timeout:g}s",
                retryable=True,
                final_url=hop.url,
            ) from exc

    async def _follow(
        self, hop: _Hop, location: str, seen: set[str], limits: FetchLimits, check: RedirectCheck | None
    ) -> None:
        target = str(httpx.URL(hop.url).join(location))
        if not target.startswith(("http://", "https://")):
            raise FetchError("redirect", f"redirect to a non-HTTP URL {target!r}", retryable=False)
        if len(hop.redirects) >= limits.max_redirects:
            raise FetchError("redirect", f"more than {limits.max_redirects} redirects", retryable=False)
        canonical = canonical_url(target)
        if canonical in seen:
            raise FetchError("redirect", f"redirect loop back to {target}", retryable=False)
        seen.add(canonical)
        if check is not None and (reason := await check(target)) is not None:
            raise FetchError("redirect", f"redirect to {target} not followed: {reason}", retryable=False)
        hop.redirects.append(hop.url)
        hop.url = target

    async def _get(
        self, url: str, headers: dict[str, str], limits: FetchLimits
    ) -> tuple[int, dict[str, str], bytes, str] | None:
        timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
        request_headers = {"accept-encoding": ACCEPT_ENCODING, **headers}
        try:
            async with self._client.stream("GET", url, headers=request_headers, timeout=timeout) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limits.max_body_bytes:
                    raise BodyTooLarge(limits.max_body_bytes)
                decoder = BoundedDecoder(response.headers.get("content-encoding"), limits.max_body_bytes)
                parts: list[bytes] = []
                async for raw in response.aiter_raw():
                    parts.extend(decoder.feed(raw))
                parts.extend(decoder.finish())
                response_headers = {name.lower(): value for name, value in response.headers.items()}
                return response.status_code, response_headers, b"".join(parts), response.http_version
        except SsrfRefused as exc:
            raise FetchError("ssrf", str(exc), retryable=False, final_url=url) from exc
        except BodyTooLarge as exc:
            raise FetchError("too_large", str(exc), retryable=False, final_url=url) from exc
        except UnsupportedEncoding as exc:
            raise FetchError("encoding", str(exc), retryable=False, final_url=url) from exc
        except httpx.TimeoutException as exc:
            raise FetchError(
                "timeout", f"{type(exc).__name__} fetching {url}", retryable=True, final_url=url
            ) from exc
        except httpx.TransportError as exc:
            raise FetchError(
                "connection", f"{type(exc).__name__}: {exc}", retryable=True, final_url=url
            ) from exc
        except httpx.InvalidURL as exc:
            raise FetchError("invalid_url", str(exc), retryable=False, final_url=url) from exc


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
