from __future__ import annotations

import pytest

from shared.config import LOCAL_PG_PORT, Settings


def test_an_empty_endpoint_variable_means_the_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_PG_DSN", "")
    monkeypatch.setenv("TRAWL_KAFKA_BOOTSTRAP", "  ")
    settings = Settings()
    assert settings.pg_dsn is None
    assert settings.kafka_bootstrap is None
    assert f":{LOCAL_PG_PORT}/" in settings.postgres_dsn


def test_a_set_endpoint_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_S3_ENDPOINT", "http://minio:9000")
    monkeypatch.setenv("TRAWL_SCHEMA_PREFIX", "t1_")
    settings = Settings()
    assert settings.s3_url == "http://minio:9000"
    assert settings.schema_for("crawler") == "t1_crawler"
