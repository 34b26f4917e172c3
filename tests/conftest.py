"""Session fixtures for the real Kafka, PostgreSQL and S3, and per-test isolation.

Each piece has its own session fixture and comes, in this order, from its `TRAWL_*` variable,
else from testcontainers when `TRAWL_TEST_CONTAINERS=1` and a Docker engine answers, else from
the local stack (`trawl up`), which is stopped again at the end if this session started it. Every test gets
its own topic prefix and Postgres schema prefix, so tests run in any order and in parallel
workers against the same servers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest

from shared.config import Settings
from shared.s3 import ObjectStore
from tests.support import drop_isolated
from trawl import localstack

_STACK_FIXTURES = frozenset({"stack", "kafka_server", "postgres_server", "s3_server"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the real Kafka, PostgreSQL or S3 says so with the `integration`
    mark, so that `pytest -m "not integration"` runs everything that needs no stack."""
    unmarked = [
        item.nodeid
        for item in items
        if _STACK_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests using the stack without pytest.mark.integration: " + ", ".join(unmarked)
        )


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


def _use_containers() -> bool:
    return os.environ.get("TRAWL_TEST_CONTAINERS") == "1" and _docker_answers()


@contextlib.contextmanager
def _local_component(name: str) -> Iterator[None]:
    """The local stack's `name` (kafka, postgres, s3); stopped afterwards if we started it,
    unless parallel workers (pytest-xdist) share it: another one may still be using it."""
    settings = Settings()
    was_running = any(c.name == name and c.state == "running" for c in localstack.status(settings))
    localstack.up(settings, only={name})
    try:
        yield
    finally:
        if not was_running and "PYTEST_XDIST_WORKER" not in os.environ:
            localstack.down(settings, only={name})


@pytest.fixture(scope="session")
def kafka_server() -> Iterator[str]:
    """A real Kafka broker: TRAWL_KAFKA_BOOTSTRAP, else a container, else the local KRaft broker."""
    if os.environ.get("TRAWL_KAFKA_BOOTSTRAP"):
        yield os.environ["TRAWL_KAFKA_BOOTSTRAP"]
    elif _use_containers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
    else:
        with _local_component("kafka"):
            yield Settings().kafka


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL: TRAWL_PG_DSN, else a container, else the local embedded PostgreSQL."""
    if os.environ.get("TRAWL_PG_DSN"):
        yield os.environ["TRAWL_PG_DSN"]
    elif _use_containers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver=None) as postgres:
            yield postgres.get_connection_url()
    else:
        with _local_component("postgres"):
            yield Settings().postgres_dsn


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, str]]:
    """A real S3: TRAWL_S3_ENDPOINT, else a MinIO container, else the local SeaweedFS gateway."""
    if os.environ.get("TRAWL_S3_ENDPOINT"):
        yield {"s3_endpoint": os.environ["TRAWL_S3_ENDPOINT"]}
    elif _use_containers():
        from testcontainers.minio import MinioContainer

        with MinioContainer() as minio:
            config = minio.get_config()
            yield {
                "s3_endpoint": f"http://{config['endpoint']}",
                "s3_access_key": config["access_key"],
                "s3_secret_key": config["secret_key"],
            }
    else:
        with _local_component("s3"):
            yield {"s3_endpoint": Settings().s3_url}


@pytest.fixture(scope="session")
def stack(kafka_server: str, postgres_server: str, s3_server: dict[str, str]) -> Settings:
    """Settings pointing at the session's real Kafka, PostgreSQL and S3."""
    return Settings(kafka_bootstrap=kafka_server, pg_dsn=postgres_server, **s3_server)


@pytest.fixture
async def settings(stack: Settings) -> AsyncIterator[Settings]:
    """The session's servers with this test's own topics and schemas, removed afterwards."""
    tag = uuid4().hex[:10]
    isolated = stack.model_copy(update={"topic_prefix": f"t{tag}.", "schema_prefix": f"t{tag}_"})
    yield isolated
    await drop_isolated(isolated)


@pytest.fixture(scope="session")
async def object_store(stack: Settings) -> AsyncIterator[ObjectStore]:
    """A real S3 store on a bucket of this session's own, emptied and removed afterwards."""
    bucket_settings = stack.model_copy(update={"s3_bucket": f"trawl-test-{uuid4().hex[:12]}"})
    async with ObjectStore.from_settings(bucket_settings) as store:
        await store.ensure_bucket()
        yield store
        await store.delete_many([key async for key in store.list_keys("")])
        await store.client.delete_bucket(Bucket=store.bucket)
