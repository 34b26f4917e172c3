"""The migrations runner against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared import migrations
from shared.config import Settings
from shared.db import connect_admin, create_pool

pytestmark = pytest.mark.integration

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


async def test_two_concurrent_runners_apply_each_migration_once(settings: Settings) -> None:
    schema = settings.schema_for("crawler")
    found = migrations.discover(SERVICES_DIR / "crawler" / "migrations")
    first, second = await connect_admin(settings), await connect_admin(settings)
    try:
        applied = await asyncio.gather(
            migrations.migrate(first, schema, found), migrations.migrate(second, schema, found)
        )
        versions = [migration.version for migration in found]
        assert sorted(applied[0] + applied[1]) == sorted(versions)
        assert not set(applied[0]) & set(applied[1])
        rows = await first.fetch(f"SELECT version FROM {schema}.schema_migrations ORDER BY version")
        assert [row["version"] for row in rows] == sorted(versions)
        assert await migrations.migrate(first, schema, found) == []
    finally:
        await first.close()
        await second.close()


async def test_an_edited_applied_migration_is_refused(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "001_things.sql").write_text("CREATE TABLE things (id int);")
    schema = settings.schema_for("edited")
    conn = await connect_admin(settings)
    try:
        await migrations.migrate(conn, schema, migrations.discover(tmp_path))
        (tmp_path / "001_things.sql").write_text("CREATE TABLE things (id bigint);")
        with pytest.raises(migrations.MigrationError, match="was changed"):
            await migrations.migrate(conn, schema, migrations.discover(tmp_path))
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "001_good.sql").write_text("CREATE TABLE good (id int);")
    (tmp_path / "002_bad.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")
    schema = settings.schema_for("failing")
    conn = await connect_admin(settings)
    try:
        with pytest.raises(Exception, match="no_such_function"):
            await migrations.migrate(conn, schema, migrations.discover(tmp_path))
        tables = {
            row["tablename"]
            for row in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        }
        assert tables == {"schema_migrations", "outbox", "inbox", "run_configs", "run_fates", "good"}
    finally:
        await conn.close()


async def test_a_service_pool_cannot_read_another_services_tables(settings: Settings) -> None:
    conn = await connect_admin(settings)
    try:
        for service in ("ingest", "crawler"):
            found = migrations.discover(SERVICES_DIR / service / "migrations")
            await migrations.migrate(conn, settings.schema_for(service), found)
    finally:
        await conn.close()
    pool = await create_pool(settings, "crawler")
    try:
        assert await pool.fetchval("SELECT count(*) FROM frontier") == 0
        with pytest.raises(Exception, match="permission denied"):
            await pool.fetchval(f"SELECT count(*) FROM {settings.schema_for('ingest')}.runs")
    finally:
        await pool.close()
