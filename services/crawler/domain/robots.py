"""robots.txt rules of one host, following RFC 9309 (parsing by protego).

How the fetch of /robots.txt ended decides the rules: a 2xx body is parsed; a 4xx means
there are no rules (allow all); a 5xx, a 429 or no response at all (status None) means the
site may be in trouble, so everything is disallowed until a shorter error ttl expires and
robots.txt is fetched again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from protego import Protego

MAX_ROBOTS_BYTES = 500 * 1024  # Google reads the first 500 KiB and ignores the rest
ERROR_TTL_SECONDS = 300.0  # refetch soon after a server error: the disallow-all is temporary


class RobotsOutcome(StrEnum):
    PARSED = "parsed"
    ALLOW_ALL = "allow_all"
    DISALLOW_ALL = "disallow_all"


@dataclass(frozen=True)
class RobotsRules:
    outcome: RobotsOutcome
    fetched_at: float
    status: int | None = None
    parser: Protego | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_response(cls, status: int | None, body: bytes, fetched_at: float) -> RobotsRules:
        """Rules from the final response to GET /robots.txt (redirects already followed)."""
        if status is not None and 200 <= status < 300:
            text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
            return cls(RobotsOutcome.PARSED, fetched_at, status, Protego.parse(text))
        if status is not None and 300 <= status < 500 and status != 429:
            # Unavailable (including a redirect chain that never ended): no restrictions.
            return cls(RobotsOutcome.ALLOW_ALL, fetched_at, status)
        return cls(RobotsOutcome.DISALLOW_ALL, fetched_at, status)

    def allows(self, url: str, user_agent: str) -> bool:
        if urlsplit(url).path == "/robots.txt":  # RFC 9309 2.2.2: always allowed
            return True
        if self.parser is not None:
            return self.parser.can_fetch(url, user_agent)
        return self.outcome is RobotsOutcome.ALLOW_ALL

    def crawl_delay(self, user_agent: str) -> float | None:
        """Seconds between requests the site asks of `user_agent`: Crawl-delay, or the spacing
        a Request-rate implies, whichever is longer."""
        if self.parser is None:
            return None
        delays: list[float] = []
        crawl_delay = self.parser.crawl_delay(user_agent)
        if crawl_delay is not None:
            delays.append(float(crawl_delay))
        rate = self.parser.request_rate(user_agent)
        if rate is not None and rate.requests > 0:
            delays.append(rate.seconds / rate.requests)
        return max(delays, default=None)

    @property
    def sitemaps(self) -> list[str]:
        return [] if self.parser is None else list(self.parser.sitemaps)

    def expired(self, now: float, ttl: float) -> bool:
        """Whether to fetch robots.txt again; error outcomes live at most ERROR_TTL_SECONDS."""
        lifetime = min(ttl, ERROR_TTL_SECONDS) if self.outcome is RobotsOutcome.DISALLOW_ALL else ttl
        return now - self.fetched_at >= lifetime
