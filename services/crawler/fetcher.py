"""HTTP fetching with every limit a crawler needs, and the SSRF guard at connect time.

One `Fetcher` per process. Plain-HTTP URLs go through aiohttp (HTTP/1.1, the cheapest client
per request in Python by far); HTTPS URLs through httpx with HTTP/2, negotiated by ALPN where
the server offers it (servers offer HTTP/2 only over TLS in practice: h2c upgrades are gone from
RFC 9113). Both share what matters: redirects followed by hand so that each hop is checked and
paced, bodies streamed through a bounded decoder (size and decompression limits), and an
`AddressGuard` that resolves every host itself and refuses addresses the `AddressPolicy`
forbids — after DNS resolution, so a hostname pointing at 127.0.0.1 or 169.254.169.254 is
refused like the literal would be.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from services.crawler.domain.decoding import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    BoundedDecoder,
    UnsupportedEncoding,
)
from services.crawler.domain.fetching import Fetched, FetchLimits
from services.crawler.domain.ssrf import AddressPolicy, SsrfRefused, literal_address
from services.crawler.domain.urls import canonical_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RedirectCheck = Callable[[str], Awaitable[str | None]]
"""Given a redirect target, the reason it may not be followed, or None."""
Pacer = Callable[[str], Awaitable[None]]
"""Waits until a request to this URL is polite (each redirect hop is a request of its own)."""


class FetchError(Exception):
    """A fetch that produced no usable response; `retryable` says whether trying later may help."""

    def __init__(self, kind: str, message: str, *, retryable: bool, final_url: str | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.retryable = retryable
        self.final_url = final_url


@dataclass(frozen=True)
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    http_version: str


@dataclass
class _Hop:
    url: str
    redirects: list[str] = field(default_factory=list)


Lookup = Callable[[str, int], Awaitable[list[IPAddress]]]
_LOOPBACK = ipaddress.ip_address("127.0.0.1")


async def system_lookup(host: str, port: int) -> list[IPAddress]:
    """The host's addresses from the system resolver, in its order, once each."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host!r}: {exc}") from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


class AddressGuard:
    """Resolves a host and returns its addresses only if every one of them is allowed, so a
    DNS answer mixing public and private addresses cannot be used to reach the private one.
    The connection is then made to an address returned here, never to the name: a name that
    answers differently the next time (DNS rebinding) cannot swap in an unchecked address."""

    def __init__(self, policy: AddressPolicy, lookup: Lookup = system_lookup) -> None:
        self.policy = policy
        self._lookup = lookup

    def check_literal(self, host: str) -> None:
        address = literal_address(host)
        if address is not None and (reason := self.policy.refusal(address)) is not None:
            raise SsrfRefused(host, address, reason)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        name = host.lower().removesuffix(".")  # "localhost." is "localhost"
        literal = literal_address(name)
        if literal is not None:
            candidates: list[IPAddress] = [literal]
        elif name == "localhost" or name.endswith(".localhost"):
            candidates = [_LOOPBACK]  # RFC 6761: loopback, whatever a resolver says
        else:
            candidates = await self._lookup(name, port)
        for address in candidates:
            reason = self.policy.refusal(address)
            if reason is not None:
                raise SsrfRefused(host, address, reason)
        return candidates


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, through the guard (aiohttp skips resolvers for IP literals, which
    the fetcher checks itself before each request)."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST,
            )
            for address in await self._guard.resolve(host, port)
        ]

    async def close(self) -> None:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the guard allows."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._guard.resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return await self._inner.connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Fetcher:
    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_connections: int = 100,
        ssl_context: ssl.SSLContext | None = None,
        lookup: Lookup = system_lookup,
    ) -> None:
        self._guard = AddressGuard(policy, lookup)
        self._ssl = ssl_context or httpx.create_ssl_context()
        self._plain = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=max_connections, resolver=GuardedResolver(self._guard), ttl_dns_cache=60
            ),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent",),
        )
        transport = httpx.AsyncHTTPTransport(http2=True)
        # httpx builds its pool without a way to pass a network backend; swap in one that
        # carries the SSRF guard, configured the same way.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._ssl,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            http1=True,
            http2=True,
            network_backend=GuardedBackend(self._guard),
        )
        self._tls = httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)

    async def aclose(self) -> None:
        await self._plain.close()
        await self._tls.aclose()

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
        request_headers = {"accept-encoding": ACCEPT_ENCODING, **headers}
        try:
            async with asyncio.timeout(limits.total_timeout):
                while True:
                    response = await self._get(hop.url, request_headers, limits)
                    location = response.headers.get("location")
                    if response.status not in _REDIRECTS or not location:
                        return Fetched(
                            url=url,
                            final_url=hop.url,
                            status=response.status,
                            headers=response.headers,
                            body=response.body,
                            redirects=tuple(hop.redirects),
                            elapsed=time.monotonic() - started,
                            http_version=response.http_version,
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
        target = urljoin(hop.url, location.strip())
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

    async def _get(self, url: str, headers: dict[str, str], limits: FetchLimits) -> _Response:
        try:
            self._guard.check_literal(urlsplit(url).hostname or "")
            if url.startswith("https://"):
                return await self._get_tls(url, headers, limits)
            return await self._get_plain(url, headers, limits)
        except SsrfRefused as exc:
            raise FetchError("ssrf", str(exc), retryable=False, final_url=url) from exc
        except BodyTooLarge as exc:
            raise FetchError("too_large", str(exc), retryable=False, final_url=url) from exc
        except UnsupportedEncoding as exc:
            raise FetchError("encoding", str(exc), retryable=False, final_url=url) from exc
        except (httpx.TimeoutException, aiohttp.ServerTimeoutError) as exc:
            raise FetchError(
                "timeout", f"{type(exc).__name__} fetching {url}", retryable=True, final_url=url
            ) from exc
        except (httpx.InvalidURL, aiohttp.InvalidURL, ValueError) as exc:
            raise FetchError("invalid_url", str(exc), retryable=False, final_url=url) from exc
        except (httpx.TransportError, aiohttp.ClientError, OSError) as exc:
            if isinstance(exc.__cause__, SsrfRefused):
                raise FetchError("ssrf", str(exc.__cause__), retryable=False, final_url=url) from exc
            raise FetchError(
                "connection", f"{type(exc).__name__}: {exc}", retryable=True, final_url=url
            ) from exc

    async def _get_plain(self, url: str, headers: dict[str, str], limits: FetchLimits) -> _Response:
        timeout = aiohttp.ClientTimeout(sock_connect=limits.connect_timeout, sock_read=limits.read_timeout)
        async with self._plain.get(url, headers=headers, timeout=timeout, allow_redirects=False) as response:
            response_headers = _joined(response.headers.items())
            decoder = _decoder_for(response_headers, limits)
            parts: list[bytes] = []
            async for raw in response.content.iter_any():
                parts.extend(decoder.feed(raw))
            parts.extend(decoder.finish())
            version = (
                "HTTP/1.1"
                if response.version is None
                else f"HTTP/{response.version.major}.{response.version.minor}"
            )
            return _Response(response.status, response_headers, b"".join(parts), version)

    async def _get_tls(self, url: str, headers: dict[str, str], limits: FetchLimits) -> _Response:
        timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
        async with self._tls.stream("GET", url, headers=headers, timeout=timeout) as response:
            response_headers = _joined(response.headers.multi_items())
            decoder = _decoder_for(response_headers, limits)
            parts: list[bytes] = []
            async for raw in response.aiter_raw():
                parts.extend(decoder.feed(raw))
            parts.extend(decoder.finish())
            return _Response(response.status_code, response_headers, b"".join(parts), response.http_version)


def _decoder_for(headers: dict[str, str], limits: FetchLimits) -> BoundedDecoder:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise BodyTooLarge(limits.max_body_bytes)
    return BoundedDecoder(headers.get("content-encoding"), limits.max_body_bytes)


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _joined(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Response headers by lower-cased name, a repeated header's values joined with commas
    (RFC 9110 5.3: X-Robots-Tag and Cache-Control are often sent more than once)."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined
