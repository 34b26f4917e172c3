"""PostgreSQL connections: one asyncpg pool per service, confined to the service's schema."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shared.config import Settings

# What store functions take: a plain connection or one borrowed from a pool.
Connection = asyncpg.Connection | PoolConnectionProxy


_JSONB_VERSION = b"\x01"  # the binary jsonb wire format is a version byte, then the JSON text


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_VERSION + json.dumps(value).encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs, so that COPY (binary only in asyncpg) can write json columns too.
    await conn.set_type_codec(
        "json",
        encoder=lambda value: json.dumps(value).encode(),
        decoder=json.loads,
        schema="pg_catalog",
        format="binary",
    )
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )


async def create_pool(
    settings: Settings, service: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """A pool whose connections act as the service's role with its schema as search path,
    so store SQL uses unqualified names and cannot touch another service's tables."""
    schema = settings.schema_for(service)
    pool: asyncpg.Pool = await asyncpg.create_pool(
        settings.postgres_dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": schema, "role": schema},
        **kwargs,
    )
    return pool


async def connect_admin(settings: Settings) -> asyncpg.Connection:
    """A single connection with the DSN's own rights (migrations, tests, tooling)."""
    conn: asyncpg.Connection = await asyncpg.connect(settings.postgres_dsn)
    await _init_connection(conn)
    return conn
