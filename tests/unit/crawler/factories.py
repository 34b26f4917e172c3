"""Records as the crawler's rules receive them, for unit tests."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.crawler.domain.fetching import Fetched
from services.crawler.domain.records import LeasedUrl
from services.crawler.domain.run_view import RunView
from shared.events import JobConfig

SEED = "https://shop.example.com/list"
RUN = UUID("00000000-0000-0000-0000-0000000000a1")
TENANT = UUID("00000000-0000-0000-0000-0000000000b2")
JOB = UUID("00000000-0000-0000-0000-0000000000c3")


def leased(**overrides: Any) -> LeasedUrl:
    """A lease of the seed, fetched for the first time (`overrides` change any field)."""
    fields: dict[str, Any] = {
        "id": 7,
        "run_id": RUN,
        "tenant_id": TENANT,
        "job_id": JOB,
        "url": SEED,
        "url_hash": "cd" * 32,
        "host": "shop.example.com",
        "depth": 0,
        "kind": "page",
        "page_number": None,
        "attempts": 0,
        "discovered_from": None,
        "previous_etag": None,
        "previous_last_modified": None,
        "previous_content_hash": None,
        "previous_s3_key": None,
        "previous_content_type": None,
    }
    return LeasedUrl(**{**fields, **overrides})


def response(status: int = 200, body: bytes = b"<html>hello</html>", **headers: str) -> Fetched:
    """The seed's response, redirected to its directory form; header names take _ for -."""
    return Fetched(
        url=SEED,
        final_url=SEED + "/",
        status=status,
        headers={name.replace("_", "-"): value for name, value in headers.items()},
        body=body,
        redirects=(SEED,),
        elapsed=0.1,
        http_version="HTTP/1.1",
    )


def run_view(config: JobConfig) -> RunView:
    """The view of a run of `config`, for a crawler whose default user agent is TrawlBot/1.0."""
    return RunView.of(
        run_id=RUN, tenant_id=TENANT, job_id=JOB, config=config, default_user_agent="TrawlBot/1.0"
    )
