"""The crawler's SQL; nothing else touches its tables. Callers use `store.<query>`; the queries
live in one module per subject."""

from __future__ import annotations

from services.crawler.store.frontier import (
    enqueue,
    lease,
    queued_urls,
    release_expired_leases,
    release_leases,
    renew_leases,
    run_has_content,
    skip_pattern_pages_after,
    still_leased,
    update_frontier,
)
from services.crawler.store.pages import (
    add_counters,
    insert_images,
    insert_pages,
)
from services.crawler.store.politeness import (
    cached_robots,
    push_back_host,
    reserve_host_slot,
    store_robots,
)
from services.crawler.store.runs import (
    claim_progress_reports,
    complete_finished_runs,
    create_crawl_run,
    objects_only_this_run_references,
    run_budgets,
    run_statuses,
    run_urls,
    set_crawl_status,
)
from services.crawler.store.searches import (
    add_searches,
    cache_answer,
    cached_answer,
    count_request,
    lease_search,
    lock_provider,
    release_searches,
    requests_this_month,
    run_searches,
    save_provider,
    settle_search,
)

__all__ = [
    "add_counters",
    "add_searches",
    "cache_answer",
    "cached_answer",
    "cached_robots",
    "claim_progress_reports",
    "complete_finished_runs",
    "count_request",
    "create_crawl_run",
    "enqueue",
    "insert_images",
    "insert_pages",
    "lease",
    "lease_search",
    "lock_provider",
    "objects_only_this_run_references",
    "push_back_host",
    "queued_urls",
    "release_expired_leases",
    "release_leases",
    "release_searches",
    "renew_leases",
    "requests_this_month",
    "reserve_host_slot",
    "run_budgets",
    "run_has_content",
    "run_searches",
    "run_statuses",
    "run_urls",
    "save_provider",
    "set_crawl_status",
    "settle_search",
    "skip_pattern_pages_after",
    "still_leased",
    "store_robots",
    "update_frontier",
]
