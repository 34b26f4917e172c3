"""Politeness shared by every replica: host time slots, push-backs, the robots cache."""

from __future__ import annotations

from shared.db import Connection

# --- politeness ----------------------------------------------------------------------------


async def reserve_host_slot(conn: Connection, host: str, delay: float) -> float:
    """Reserve this host's next fetch slot, shared by every replica: returns when it starts
    (Unix time, by the database's clock). Slots are `delay` apart, so requests to a host are
    spaced whoever sends them."""
    slot: float = await conn.fetchval(
        """INSERT INTO hosts (host, next_fetch_at) VALUES ($1, clock_timestamp() + make_interval(secs => $2))
           ON CONFLICT (host) DO UPDATE
              SET next_fetch_at = greatest(hosts.next_fetch_at, clock_timestamp()) + make_interval(secs => $2)
        RETURNING extract(epoch FROM next_fetch_at)::float8 - $2""",
        host,
        delay,
    )
    return slot


async def push_back_host(conn: Connection, host: str, seconds: float) -> None:
    """The host asked us to wait (429/503 Retry-After): no replica fetches from it before then."""
    await conn.execute(
        """INSERT INTO hosts (host, next_fetch_at) VALUES ($1, now() + make_interval(secs => $2))
           ON CONFLICT (host) DO UPDATE
              SET next_fetch_at = greatest(hosts.next_fetch_at, now() + make_interval(secs => $2))""",
        host,
        seconds,
    )


async def cached_robots(conn: Connection, host: str, max_age: float) -> tuple[int | None, bytes] | None:
    row = await conn.fetchrow(
        """SELECT robots_status, robots_body FROM hosts
            WHERE host = $1 AND robots_fetched_at > now() - make_interval(secs => $2)""",
        host,
        max_age,
    )
    return None if row is None else (row["robots_status"], row["robots_body"] or b"")


async def store_robots(conn: Connection, host: str, status: int | None, body: bytes) -> None:
    await conn.execute(
        """INSERT INTO hosts (host, robots_status, robots_body, robots_fetched_at)
           VALUES ($1, $2, $3, now())
           ON CONFLICT (host) DO UPDATE
              SET robots_status = $2, robots_body = $3, robots_fetched_at = now()""",
        host,
        status,
        body,
    )
