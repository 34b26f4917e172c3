"""Session fixtures for the real Kafka, PostgreSQL and S3, and per-test isolation.

Each piece comes, in this order, from its `TRAWL_*` variable, else from testcontainers when
`TRAWL_TEST_CONTAINERS=1` and a Docker engine answers, else from the local stack
(`trawl up`), which is stopped again at the end if this session started it. Every test gets
its own topic prefix and Postgres schema prefix, so tests run in any order and in parallel
workers against the same servers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest

from shared import localstack
from shared.config import Settings
from shared.db import connect_admin
from shared.events import SERVICES
from shared.kafka import delete_topics
from shared.migrations import drop_schema
from shared.s3 import ObjectStore
from shared.topics import all_topics


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def _containers(missing: set[str]) -> Iterator[dict[str, str]]:
    """Start the missing pieces with testcontainers (only where a Docker engine exists)."""
    with contextlib.ExitStack() as stack:
        endpoints: dict[str, str] = {}
        if "kafka" in missing:
            from testcontainers.kafka import KafkaContainer

            kafka = stack.enter_context(KafkaContainer().with_kraft())
            endpoints["TRAWL_KAFKA_BOOTSTRAP"] = kafka.get_bootstrap_server()
        if "postgres" in missing:
            from testcontainers.postgres import PostgresContainer

            postgres = stack.enter_context(PostgresContainer("postgres:17", driver=None))
            endpoints["TRAWL_PG_DSN"] = postgres.get_connection_url()
        if "s3" in missing:
            from testcontainers.minio import MinioContainer

            minio = stack.enter_context(MinioContainer())
            config = minio.get_config()
            endpoints["TRAWL_S3_ENDPOINT"] = f"http://{config['endpoint']}"
            endpoints["TRAWL_S3_ACCESS_KEY"] = config["access_key"]
            endpoints["TRAWL_S3_SECRET_KEY"] = config["secret_key"]
        yield endpoints


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """Settings pointing at a real Kafka, PostgreSQL and S3 for the whole session."""
    variables = {"kafka": "TRAWL_KAFKA_BOOTSTRAP", "postgres": "TRAWL_PG_DSN", "s3": "TRAWL_S3_ENDPOINT"}
    missing = {name for name, variable in variables.items() if not os.environ.get(variable)}
    with contextlib.ExitStack() as stack:
        if missing and os.environ.get("TRAWL_TEST_CONTAINERS") == "1" and _docker_answers():
            os.environ.update(stack.enter_context(_containers(missing)))
        settings = Settings()
        if any(component.state == "stopped" for component in localstack.status(settings)):
            localstack.up(settings)
            stack.callback(localstack.down, settings)
        yield settings


@pytest.fixture
async def settings(stack: Settings) -> AsyncIterator[Settings]:
    """The session's servers with this test's own topics and schemas, removed afterwards."""
    tag = uuid4().hex[:10]
    isolated = stack.model_copy(update={"topic_prefix": f"t{tag}.", "schema_prefix": f"t{tag}_"})
    yield isolated
    conn = await connect_admin(isolated)
    try:
        schemas = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", f"{isolated.schema_prefix}%"
        )
        for row in schemas:
            await drop_schema(conn, row["nspname"])
        for service in SERVICES:
            await conn.execute(f"DROP ROLE IF EXISTS {isolated.schema_for(service)}")
    finally:
        await conn.close()
    await delete_topics(isolated.kafka, all_topics(isolated.topic_prefix))


@pytest.fixture(scope="session")
async def object_store(stack: Settings) -> AsyncIterator[ObjectStore]:
    """A real S3 store on a bucket of this session's own, emptied and removed afterwards."""
    bucket_settings = stack.model_copy(update={"s3_bucket": f"trawl-test-{uuid4().hex[:12]}"})
    async with ObjectStore.from_settings(bucket_settings) as store:
        await store.ensure_bucket()
        yield store
        await store.delete_many([key async for key in store.list_keys("")])
        await store.client.delete_bucket(Bucket=store.bucket)
