"""Tenants, users, API keys and their rate buckets, usage, the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.ingest.domain.ratelimit import Bucket
from services.ingest.store.rows import Row, row_or_none
from shared.db import Connection

# --- tenants, users, keys -------------------------------------------------------------------


async def create_tenant(
    conn: Connection, *, tenant_id: UUID, name: str, quota_pages_monthly: int, max_active_runs: int
) -> None:
    await conn.execute(
        "INSERT INTO tenants (id, name, quota_pages_monthly, max_active_runs) VALUES ($1, $2, $3, $4)",
        tenant_id,
        name,
        quota_pages_monthly,
        max_active_runs,
    )


async def get_tenant(conn: Connection, *, tenant_id: UUID) -> Row | None:
    return row_or_none(await conn.fetchrow("SELECT * FROM tenants WHERE id = $1", tenant_id))


async def update_tenant_limits(
    conn: Connection, *, tenant_id: UUID, quota_pages_monthly: int | None, max_active_runs: int | None
) -> Row | None:
    return row_or_none(
        await conn.fetchrow(
            """UPDATE tenants SET quota_pages_monthly = coalesce($2, quota_pages_monthly),
                      max_active_runs = coalesce($3, max_active_runs)
                WHERE id = $1 RETURNING *""",
            tenant_id,
            quota_pages_monthly,
            max_active_runs,
        )
    )


async def create_user(conn: Connection, *, user_id: UUID, tenant_id: UUID, email: str, role: str) -> bool:
    """False when the tenant already has a user with this email."""
    created = await conn.fetchval(
        """INSERT INTO users (id, tenant_id, email, role) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, email) DO NOTHING RETURNING true""",
        user_id,
        tenant_id,
        email,
        role,
    )
    return bool(created)


async def get_user(conn: Connection, *, tenant_id: UUID, user_id: UUID) -> Row | None:
    return row_or_none(
        await conn.fetchrow("SELECT * FROM users WHERE tenant_id = $1 AND id = $2", tenant_id, user_id)
    )


async def list_users(conn: Connection, *, tenant_id: UUID) -> list[Row]:
    rows = await conn.fetch("SELECT * FROM users WHERE tenant_id = $1 ORDER BY created_at", tenant_id)
    return [dict(row) for row in rows]


async def create_key(
    conn: Connection,
    *,
    key_id: UUID,
    tenant_id: UUID,
    user_id: UUID,
    name: str,
    prefix: str,
    digest: bytes,
    scopes: list[str],
    expires_at: datetime | None,
) -> Row:
    row = await conn.fetchrow(
        """INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, key_hash, scopes, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
        key_id,
        tenant_id,
        user_id,
        name,
        prefix,
        digest,
        scopes,
        expires_at,
    )
    assert row is not None
    return dict(row)


async def key_by_digest(conn: Connection, digest: bytes) -> Row | None:
    """The key with this hash and its user's role (by hash: the key is what names the tenant)."""
    return row_or_none(
        await conn.fetchrow(
            """SELECT k.id, k.tenant_id, k.user_id, k.scopes, k.expires_at, k.revoked_at, u.role
                 FROM api_keys k JOIN users u ON u.id = k.user_id AND u.tenant_id = k.tenant_id
                WHERE k.key_hash = $1""",
            digest,
        )
    )


async def list_keys(conn: Connection, *, tenant_id: UUID, user_id: UUID | None) -> list[Row]:
    rows = await conn.fetch(
        """SELECT * FROM api_keys WHERE tenant_id = $1 AND ($2::uuid IS NULL OR user_id = $2)
            ORDER BY created_at""",
        tenant_id,
        user_id,
    )
    return [dict(row) for row in rows]


async def revoke_key(conn: Connection, *, tenant_id: UUID, key_id: UUID, user_id: UUID | None) -> bool:
    """False when no such key (of this user, when one is given)."""
    revoked = await conn.fetchval(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
            WHERE tenant_id = $1 AND id = $2 AND ($3::uuid IS NULL OR user_id = $3) RETURNING true""",
        tenant_id,
        key_id,
        user_id,
    )
    return bool(revoked)


async def lock_bucket(conn: Connection, *, tenant_id: UUID, key_id: UUID) -> Bucket | None:
    row = await conn.fetchrow(
        "SELECT tokens, refilled_at FROM rate_buckets WHERE tenant_id = $1 AND key_id = $2 FOR UPDATE",
        tenant_id,
        key_id,
    )
    return None if row is None else Bucket(tokens=row["tokens"], refilled_at=row["refilled_at"])


async def save_bucket(conn: Connection, *, tenant_id: UUID, key_id: UUID, bucket: Bucket) -> None:
    await conn.execute(
        """INSERT INTO rate_buckets (key_id, tenant_id, tokens, refilled_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (key_id) DO UPDATE SET tokens = EXCLUDED.tokens, refilled_at = EXCLUDED.refilled_at""",
        key_id,
        tenant_id,
        bucket.tokens,
        bucket.refilled_at,
    )


# --- usage and audit ----------------------------------------------------------------------


async def add_usage(
    conn: Connection, *, tenant_id: UUID, period: date, pages: int = 0, tokens: int = 0
) -> None:
    await conn.execute(
        """INSERT INTO usage (tenant_id, period, pages_fetched, tokens) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, period) DO UPDATE
              SET pages_fetched = usage.pages_fetched + $3, tokens = usage.tokens + $4""",
        tenant_id,
        period,
        pages,
        tokens,
    )


async def usage(conn: Connection, *, tenant_id: UUID, period: date) -> Row:
    row = await conn.fetchrow(
        "SELECT pages_fetched, tokens FROM usage WHERE tenant_id = $1 AND period = $2", tenant_id, period
    )
    return dict(row) if row is not None else {"pages_fetched": 0, "tokens": 0}


async def insert_audit(conn: Connection, **entry: Any) -> None:
    await conn.execute(
        """INSERT INTO audit_log (tenant_id, actor, action, resource, status, request_id, ip, user_agent,
                                  project_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        entry["tenant_id"],
        entry["actor"],
        entry["action"],
        entry["resource"],
        entry["status"],
        entry["request_id"],
        entry["ip"],
        entry["user_agent"],
        entry.get("project_id"),
    )


async def list_audit(conn: Connection, *, tenant_id: UUID, limit: int) -> list[Row]:
    rows = await conn.fetch(
        "SELECT * FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2", tenant_id, limit
    )
    return [dict(row) for row in rows]
