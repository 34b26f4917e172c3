"""Keyword searches of runs, and each search provider's cache, monthly usage and breaker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from services.crawler.domain.search_guard import ProviderState
from services.crawler.domain.search_results import PlannedSearch
from shared.db import Connection


async def add_searches(
    conn: Connection, *, run_id: UUID, tenant_id: UUID, searches: Sequence[PlannedSearch]
) -> None:
    await conn.executemany(
        """INSERT INTO keyword_searches (run_id, tenant_id, keyword, query, kind, page, request, expansion)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
        [
            (
                run_id,
                tenant_id,
                s.keyword,
                s.request.query,
                s.request.kind.value,
                s.request.page,
                s.request.to_json(),
                s.expansion,
            )
            for s in searches
        ],
    )


async def start_expansion(
    conn: Connection,
    *,
    run_id: UUID,
    tenant_id: UUID,
    state: str,
    note: str | None,
    expanded: dict[str, list[str]],
    wait_seconds: float | None,
) -> None:
    """A run's expansions as it starts; with `wait_seconds`, asked and waited for that long."""
    await conn.execute(
        """UPDATE crawl_runs SET expansion_state = $3, expansion_note = $4, expanded_keywords = $5,
                  expansion_deadline = now() + make_interval(secs => $6)
            WHERE run_id = $1 AND tenant_id = $2""",
        run_id,
        tenant_id,
        state,
        note,
        expanded,
        wait_seconds,
    )


async def settle_expansion(
    conn: Connection, *, run_id: UUID, tenant_id: UUID, state: str, note: str, expanded: dict[str, list[str]]
) -> bool:
    """The answer to a run's expansion request, once; False when it came too late (the run
    completed without it, was cancelled or deleted) or was taken before."""
    settled = await conn.fetchval(
        """UPDATE crawl_runs SET expansion_state = $3, expansion_note = $4, expanded_keywords = $5
            WHERE run_id = $1 AND tenant_id = $2 AND status = 'running' AND expansion_state = 'requested'
        RETURNING true""",
        run_id,
        tenant_id,
        state,
        note,
        expanded,
    )
    return bool(settled)


async def lease_search(conn: Connection, *, owner: UUID, lease_seconds: float) -> asyncpg.Record | None:
    """One due search of a running run (a lease that expired counts as due)."""
    return await conn.fetchrow(
        """UPDATE keyword_searches k
              SET state = 'leased', lease_owner = $1, updated_at = now(),
                  leased_until = now() + make_interval(secs => $2)
            WHERE k.id = (SELECT s.id FROM keyword_searches s JOIN crawl_runs c ON c.run_id = s.run_id
                           WHERE c.status = 'running'
                             AND ((s.state = 'pending' AND s.next_attempt_at <= now())
                                  OR (s.state = 'leased' AND s.leased_until < now()))
                           ORDER BY s.next_attempt_at, s.id LIMIT 1 FOR UPDATE OF s SKIP LOCKED)
        RETURNING k.*, (SELECT job_id FROM crawl_runs c WHERE c.run_id = k.run_id) AS job_id""",
        owner,
        lease_seconds,
    )


async def settle_search(
    conn: Connection,
    *,
    search_id: int,
    owner: UUID,
    state: str,
    provider: str | None,
    results: int = 0,
    from_cache: bool = False,
    diagnostics: dict[str, Any] | None = None,
    error: str | None = None,
    retry_in: float | None = None,
    counts_attempt: bool = True,
) -> bool:
    """Record a search's outcome (back to `pending` with `retry_in` for another attempt); False
    when this worker no longer holds its lease."""
    settled = await conn.fetchval(
        """UPDATE keyword_searches
              SET state = $3, provider = $4, results = $5, from_cache = $6, diagnostics = $7, error = $8,
                  attempts = attempts + $10::int, lease_owner = NULL, leased_until = NULL, updated_at = now(),
                  next_attempt_at = now() + make_interval(secs => coalesce($9, 0))
            WHERE id = $1 AND lease_owner = $2 AND state = 'leased'
        RETURNING true""",
        search_id,
        owner,
        state,
        provider,
        results,
        from_cache,
        diagnostics or {},
        error,
        retry_in,
        1 if counts_attempt else 0,
    )
    return bool(settled)


async def release_searches(conn: Connection, *, owner: UUID) -> None:
    """Give back what this worker holds (it is stopping)."""
    await conn.execute(
        """UPDATE keyword_searches SET state = 'pending', lease_owner = NULL, leased_until = NULL
            WHERE lease_owner = $1 AND state = 'leased'""",
        owner,
    )


async def run_searches(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT keyword, expansion, query, kind, page, state, provider, results, from_cache, diagnostics,
                  error, attempts, updated_at
             FROM keyword_searches WHERE tenant_id = $1 AND run_id = $2 ORDER BY id""",
        tenant_id,
        run_id,
    )


async def cached_answer(conn: Connection, *, provider: str, cache_key: str) -> dict[str, Any] | None:
    answer = await conn.fetchval(
        "SELECT answer FROM search_cache WHERE provider = $1 AND cache_key = $2 AND expires_at > now()",
        provider,
        cache_key,
    )
    return None if answer is None else dict(answer)


async def cache_answer(
    conn: Connection, *, provider: str, cache_key: str, answer: dict[str, Any], ttl_seconds: float
) -> None:
    await conn.execute(
        """INSERT INTO search_cache (provider, cache_key, answer, expires_at)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4))
           ON CONFLICT (provider, cache_key)
           DO UPDATE SET answer = EXCLUDED.answer, expires_at = EXCLUDED.expires_at""",
        provider,
        cache_key,
        answer,
        ttl_seconds,
    )


async def count_request(conn: Connection, *, provider: str, month: date) -> None:
    await conn.execute(
        """INSERT INTO search_usage (provider, month, requests) VALUES ($1, $2, 1)
           ON CONFLICT (provider, month) DO UPDATE SET requests = search_usage.requests + 1""",
        provider,
        month,
    )


async def lock_provider(conn: Connection, provider: str) -> ProviderState:
    """The provider's pace and breaker, locked until the unit of work commits."""
    await conn.execute("INSERT INTO search_providers (provider) VALUES ($1) ON CONFLICT DO NOTHING", provider)
    row = await conn.fetchrow(
        """SELECT failures, extract(epoch FROM open_until)::float8 AS open_until,
                  extract(epoch FROM next_request_at)::float8 AS next_request_at
             FROM search_providers WHERE provider = $1 FOR UPDATE""",
        provider,
    )
    assert row is not None
    return ProviderState(row["failures"], row["open_until"], row["next_request_at"])


async def save_provider(conn: Connection, provider: str, state: ProviderState) -> None:
    await conn.execute(
        """UPDATE search_providers
              SET failures = $2, open_until = to_timestamp($3), next_request_at = to_timestamp($4)
            WHERE provider = $1""",
        provider,
        state.failures,
        state.open_until,
        state.next_request_at,
    )


async def requests_this_month(conn: Connection, *, provider: str, month: date) -> int:
    used = await conn.fetchval(
        "SELECT requests FROM search_usage WHERE provider = $1 AND month = $2", provider, month
    )
    return int(used or 0)
