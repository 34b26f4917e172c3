"""Which discovered URLs a job's crawl may enter.

By default a URL is in scope when its host shares a registered domain ("example.co.uk")
with one of the seeds; hosts that have none (IP literals, "localhost") must match a seed's
host exactly. A keyword job has no seeds of its own: its pages come from search results, and
a link is in scope when it shares a registered domain with the page it was found on (each
result's own site). The public suffix list is tldextract's bundled snapshot: no network, no
cache.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from shared.events import JobConfig, Scope

_DOMAINS = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
FOLLOWED_SCHEMES = frozenset({"http", "https"})


@lru_cache(maxsize=4096)  # a crawl sees the same few hosts over and over
def registered_domain(host: str) -> str:
    """The registrable part of `host` ("a.b.example.co.uk" -> "example.co.uk"), or the host
    itself when it has none (an IP address, "localhost", an unknown suffix)."""
    host = host.rstrip(".").lower()
    return _DOMAINS.extract_str(host).top_domain_under_public_suffix or host


class ScopePolicy:
    def __init__(self, seed_urls: Iterable[str], scope: Scope, max_depth: int) -> None:
        self.seed_domains = frozenset(
            registered_domain(host) for host in (urlsplit(url).hostname for url in seed_urls) if host
        )
        self.same_registered_domain = scope.same_registered_domain
        self.allowed_domains = tuple(
            domain.lower().lstrip("*").strip(".") for domain in scope.allowed_domains if domain.strip("*.")
        )
        self.include = [re.compile(pattern) for pattern in scope.include_patterns]
        self.exclude = [re.compile(pattern) for pattern in scope.exclude_patterns]
        self.max_depth = max_depth
        # No seeds: each page's own site is the scope of its links (a keyword job's results).
        self.page_relative = not self.seed_domains

    @classmethod
    def for_job(cls, config: JobConfig) -> ScopePolicy:
        return cls((str(seed) for seed in config.seeds), config.scope, config.limits.max_depth)

    def refusal(self, url: str, depth: int, found_on: str | None = None) -> str | None:
        """Why `url`, found `depth` links away from a seed (on page `found_on`), is out of
        scope; None if in scope."""
        if (refused := self.host_refusal(url, found_on)) is not None:
            return refused
        if any(pattern.search(url) for pattern in self.exclude):
            return "excluded"
        if self.include and not any(pattern.search(url) for pattern in self.include):
            return "not_included"
        if depth > self.max_depth:
            return "too_deep"
        return None

    def host_refusal(self, url: str, found_on: str | None = None) -> str | None:
        """Why `url`'s scheme or host is out of scope (its path is not looked at: a sitemap's
        URL need not match the patterns its pages must); None if in scope."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".")
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return "invalid_url"
        if parts.scheme.lower() not in FOLLOWED_SCHEMES:
            return "scheme"
        if not host:
            return "no_host"
        if not self._domain_allowed(host, found_on):
            return "off_domain"
        return None

    def _domain_allowed(self, host: str, found_on: str | None) -> bool:
        if any(host == domain or host.endswith("." + domain) for domain in self.allowed_domains):
            return True
        if self.same_registered_domain:
            domains = self.seed_domains
            if self.page_relative:
                page_host = urlsplit(found_on).hostname if found_on else None
                domains = frozenset({registered_domain(page_host)} if page_host else ())
            return registered_domain(host) in domains
        # Neither restriction asked for: any domain, unless allowed_domains narrowed it.
        return not self.allowed_domains
