"""The `trawl` commands against the real servers, isolated by the test's prefixes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shared.config import Settings
from shared.events import SERVICES
from trawl.cli import app

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "TRAWL_KAFKA_BOOTSTRAP": settings.kafka,
        "TRAWL_PG_DSN": settings.postgres_dsn,
        "TRAWL_S3_ENDPOINT": settings.s3_url,
        "TRAWL_TOPIC_PREFIX": settings.topic_prefix,
        "TRAWL_SCHEMA_PREFIX": settings.schema_prefix,
    }.items():
        monkeypatch.setenv(name, value)
    return settings


def test_migrate_applies_once_then_reports_up_to_date(cli_env: Settings) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["migrate"])
    assert first.exit_code == 0, first.output
    assert all(f"{service}: shared/000_outbox_inbox" in first.output for service in SERVICES)
    second = runner.invoke(app, ["migrate"])
    assert second.exit_code == 0, second.output
    assert second.output.count("up to date") == len(SERVICES)


def test_dlq_list_and_replay_on_empty_topics(cli_env: Settings) -> None:
    runner = CliRunner()
    assert "0 dead letter(s) pending" in runner.invoke(app, ["dlq", "list"]).output
    assert (
        "replayed 0 dead letter(s)" in runner.invoke(app, ["dlq", "replay", "--topic", "page-fetched"]).output
    )


def test_status_names_every_component(cli_env: Settings) -> None:
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert all(name in result.output for name in ("kafka", "postgres", "s3"))
    assert "external" in result.output  # the test servers are given by TRAWL_* variables
