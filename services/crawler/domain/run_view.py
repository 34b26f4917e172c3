"""What fetch tasks need to know about a run, built once from its JobConfig."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.crawler.domain.fetching import FetchLimits
from services.crawler.domain.scope import ScopePolicy
from shared.events import JobConfig, JobKind


@dataclass(frozen=True)
class RunView:
    run_id: UUID
    tenant_id: UUID
    job_id: UUID
    config: JobConfig
    scope: ScopePolicy
    user_agent: str
    fetch_limits: FetchLimits

    @classmethod
    def of(
        cls, *, run_id: UUID, tenant_id: UUID, job_id: UUID, config: JobConfig, default_user_agent: str
    ) -> RunView:
        timeout = config.limits.request_timeout_seconds
        return cls(
            run_id=run_id,
            tenant_id=tenant_id,
            job_id=job_id,
            config=config,
            scope=ScopePolicy.for_job(config),
            user_agent=config.user_agent or default_user_agent,
            fetch_limits=FetchLimits(
                max_body_bytes=config.limits.max_body_bytes,
                connect_timeout=min(10.0, timeout),
                read_timeout=timeout,
                total_timeout=timeout * 2,
            ),
        )

    @property
    def respects_robots(self) -> bool:
        return self.config.scope.respect_robots

    @property
    def wants_sitemaps(self) -> bool:
        return bool(self.config.options.get("sitemaps", True))

    @property
    def sitemaps_outside_scope(self) -> bool:
        """Sitemaps on hosts outside the crawl's scope are read too (off by default: a
        robots.txt naming another host's sitemap must not send the crawl there)."""
        return bool(self.config.options.get("sitemaps_outside_scope", False))

    @property
    def autothrottle(self) -> bool:
        return bool(self.config.options.get("autothrottle", False))

    @property
    def collects_images(self) -> bool:
        return self.config.kind is JobKind.IMAGES

    @property
    def honours_noai(self) -> bool:
        """Images whose X-Robots-Tag says noai (and the like) are not kept: on by default, as
        in img2dataset; `options.honour_noai: false` turns it off."""
        return bool(self.config.options.get("honour_noai", True))

    @property
    def agent_token(self) -> str:
        """The product token of the user agent ("TrawlBot/0.1 (+...)" -> "trawlbot")."""
        return self.user_agent.split("/", 1)[0].split()[0].lower() if self.user_agent.strip() else ""
