"""The services' internal HTTP, which only ingest calls (the public API's edge).

Ingest authenticates, rate-limits and audits a caller, then asks the service that owns the
data with the caller's tenant id and the shared internal token. Search is the extractor's
(`shared.search_api`); a run's URLs, with why each was or was not fetched, are the crawler's
(below). Both sides import these models.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

INTERNAL_TOKEN_HEADER = "X-Trawl-Internal-Token"
RUN_URLS_PATH = "/internal/v1/runs/{run_id}/urls"
MAX_RUN_URLS = 1000


def token_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class UrlState(StrEnum):
    QUEUED = "queued"
    LEASED = "leased"
    FETCHED = "fetched"
    SKIPPED = "skipped"
    FAILED = "failed"


class RunUrl(BaseModel):
    url: str
    kind: str = Field(description="page, sitemap or image")
    state: UrlState
    reason: str | None = Field(
        description="why skipped or failed: robots, http_404, too_large, duplicate, ..."
    )
    status_code: int | None
    attempts: int
    depth: int
    discovered_from: str | None
    updated_at: datetime


class RunUrls(BaseModel):
    urls: list[RunUrl]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")
