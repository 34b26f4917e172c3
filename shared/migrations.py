"""Plain numbered SQL migrations per service schema, each applied once.

Files are `NNN_name.sql`; the shared ones (outbox, inbox) come first, then the service's
own. Each file runs in its own transaction as the schema's role, so the role owns what it
creates, and is recorded in `<schema>.schema_migrations` with a checksum: an applied file
that was edited afterwards is an error, not a silent skip. A session-level advisory lock
per schema makes concurrent runners (two replicas starting together) take turns; the second
finds everything applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from shared.db import Connection

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_FILENAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str  # "shared/000_outbox_inbox" or "001_init"
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(service_dir: Path | None) -> list[Migration]:
    """Shared migrations, then the service's, each group in numeric order."""
    found = [Migration(f"shared/{path.stem}", path.read_text()) for path in _sql_files(SHARED_MIGRATIONS)]
    if service_dir is not None:
        found += [Migration(path.stem, path.read_text()) for path in _sql_files(service_dir)]
    return found


def _sql_files(directory: Path) -> list[Path]:
    files = sorted(path for path in directory.glob("*.sql"))
    bad = [path.name for path in files if not _FILENAME.match(path.name)]
    if bad:
        raise MigrationError(f"migration files must be named NNN_name.sql: {', '.join(bad)}")
    numbers = [path.name[:3] for path in files]
    if len(set(numbers)) != len(numbers):
        raise MigrationError(f"duplicate migration numbers in {directory}")
    return files


async def migrate(conn: Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is missing in `schema`; returns the versions applied by this call."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise MigrationError(f"unsafe schema name {schema!r}")
    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", f"trawl.migrate.{schema}")
    try:
        await _ensure_schema_and_role(conn, schema)
        applied = {
            row["version"]: row["checksum"]
            for row in await conn.fetch(f"SELECT version, checksum FROM {schema}.schema_migrations")
        }
        done: list[str] = []
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(f"{schema}: applied migration {migration.version} was changed since")
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL ROLE {schema}; SET LOCAL search_path TO {schema}")
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                    migration.version,
                    migration.checksum,
                )
            done.append(migration.version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", f"trawl.migrate.{schema}")


async def _ensure_schema_and_role(conn: Connection, schema: str) -> None:
    async with conn.transaction():
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", schema)
        if not exists:
            await conn.execute(f"CREATE ROLE {schema} NOLOGIN")
            # The connecting (admin) role may act as the service role: pools SET ROLE to it.
            await conn.execute(f"GRANT {schema} TO CURRENT_USER")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {schema}")
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                    version    text PRIMARY KEY,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )"""
        )
        await conn.execute(f"ALTER TABLE {schema}.schema_migrations OWNER TO {schema}")


async def drop_schema(conn: Connection, schema: str) -> None:
    """Remove a schema and its role (tests and `trawl reset`)."""
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await conn.execute(f"DROP ROLE IF EXISTS {schema}")
