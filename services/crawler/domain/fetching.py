"""What a fetch must respect and what it brings back: plain values shared by the fetcher,
the downloader and the outcome rules."""

from __future__ import annotations

from dataclasses import dataclass


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
