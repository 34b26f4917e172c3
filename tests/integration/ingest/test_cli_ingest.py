"""The `trawl` API commands against a running ingest service (real Kafka, PostgreSQL, S3).

The CLI runs its own event loop, so each invocation runs in a thread beside the service's loop.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner, Result

from shared.config import Settings
from shared.events import ChunkIndexed, CrawlProgress, KeywordExpansion, PageFetched, RunCompleted, RunStatus
from shared.producer import publish_direct
from tests.integration.ingest.conftest import Api
from tests.support import wait_until
from trawl.cli import app

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = api.runtime.settings
    for name, value in {
        "TRAWL_KAFKA_BOOTSTRAP": settings.kafka,
        "TRAWL_PG_DSN": settings.postgres_dsn,
        "TRAWL_S3_ENDPOINT": settings.s3_url,
        "TRAWL_TOPIC_PREFIX": settings.topic_prefix,
        "TRAWL_SCHEMA_PREFIX": settings.schema_prefix,
        "TRAWL_HOME": str(tmp_path),
        "TRAWL_API_URL": api.url,
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TRAWL_API_KEY", raising=False)
    return settings


async def trawl(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def test_keys_create_then_crawl_runs_upload(cli_env: Settings, tmp_path: Path) -> None:
    no_key = await trawl("runs", "list")
    assert no_key.exit_code == 1 and "trawl keys create" in no_key.output

    created = await trawl("keys", "create", "--tenant", "cli", "--email", "me@cli.example")
    assert created.exit_code == 0, created.output
    saved = json.loads((tmp_path / "cli.json").read_text())
    assert saved["api_key"] in created.output  # shown once, and saved for the next commands

    crawl = await trawl(
        "crawl", "https://example.com/", "--max-pages", "7", "--depth", "1", "--exclude", "/private/"
    )
    assert crawl.exit_code == 0, crawl.output
    run_id = re.search(r"run ([0-9a-f-]{36})", crawl.output)
    assert run_id is not None
    listed = await trawl("runs", "list")
    assert run_id.group(1) in listed.output and "running" in listed.output
    shown = await trawl("runs", "show", run_id.group(1))
    assert "crawl https://example.com/" in shown.output and "running" in shown.output

    bad = await trawl("crawl", "not a url")
    assert bad.exit_code == 1 and "422" in bad.output and "seeds.0" in bad.output

    notes = tmp_path / "notes.md"
    notes.write_text("# Knots\nThe bowline makes a fixed loop.")
    uploaded = await trawl("upload", str(notes))
    assert uploaded.exit_code == 0, uploaded.output
    assert "text/markdown" in uploaded.output

    good_config, bad_config = tmp_path / "good.json", tmp_path / "bad.json"
    good_config.write_text(json.dumps({"name": "via kafka", "seeds": ["https://example.com/"]}))
    bad_config.write_text(json.dumps({"seeds": ["ftp://nope"]}))
    accepted = await trawl("submit", str(good_config))
    assert accepted.exit_code == 0, accepted.output
    assert "accepted: run" in accepted.output
    rejected = await trawl("submit", str(bad_config))
    assert rejected.exit_code == 1 and "rejected" in rejected.output and "seeds.0" in rejected.output

    cancelled = await trawl("runs", "cancel", run_id.group(1))
    assert "cancelled" in cancelled.output
    assert (await trawl("runs", "delete", run_id.group(1))).exit_code == 0
    missing = await trawl("runs", "show", run_id.group(1))
    assert missing.exit_code == 1 and "404" in missing.output


async def test_crawl_wait_follows_the_run_to_its_summary(cli_env: Settings, api: Api) -> None:
    created = await trawl("keys", "create", "--tenant", "waiter")
    assert created.exit_code == 0, created.output
    crawling = asyncio.create_task(trawl("crawl", "https://example.com/", "--max-pages", "2", "--wait"))
    async with api.pool.acquire() as conn:
        run = await wait_until(lambda: conn.fetchrow("SELECT id, job_id, tenant_id FROM runs"))
    ids = {"tenant_id": run["tenant_id"], "job_id": run["job_id"], "run_id": run["id"]}
    now = datetime.now(UTC)
    pages = [
        PageFetched(
            **ids,
            url=f"https://example.com/{n}",
            final_url=f"https://example.com/{n}",
            url_hash=f"u{n}",
            status=200,
            content_type="text/html",
            content_hash=f"c{n}",
            s3_key=f"raw/c{n}",
            size=10,
            depth=0,
            fetched_at=now,
        )
        for n in range(2)
    ]
    indexed = [
        ChunkIndexed(**ids, document_id=uuid4(), chunk_count=3, embedding_model="m", indexed_at=now)
        for _ in range(2)
    ]
    done = RunCompleted(
        **ids,
        service="crawler",
        status=RunStatus.COMPLETED,
        counters={"pages_published": 2},
        completed_at=now,
    )
    await publish_direct(cli_env, [*pages, *indexed, done])
    result = await asyncio.wait_for(crawling, 60)
    assert result.exit_code == 0, result.output
    assert "completed" in result.output
    summary = result.output[result.output.index("pages fetched") :]
    assert "│ completed │ 2             │ 0      │ 2         │ 6      │" in summary


async def test_crawl_takes_every_job_setting_as_a_flag_over_a_config_file(
    cli_env: Settings, api: Api, tmp_path: Path
) -> None:
    assert (await trawl("keys", "create", "--tenant", "flags")).exit_code == 0
    config = tmp_path / "job.json"
    config.write_text(
        json.dumps({"seeds": ["https://example.com/"], "limits": {"max_pages": 9, "max_depth": 5}})
    )
    flags = [
        *("--config", str(config), "--max-pages", "40", "--per-host", "16", "--delay", "0.5"),
        *("--timeout", "5", "--retries", "1", "--max-bytes", "100000", "--no-robots", "--no-sitemaps"),
        *(
            "--autothrottle",
            "--follow-nofollow",
            "--user-agent",
            "MyBot/1.0",
            "--allow-domain",
            "cdn.example.com",
        ),
        *("--include", "/docs/", "--exclude", "/private/", "--name", "docs crawl"),
    ]
    result = await trawl("crawl", *flags)
    assert result.exit_code == 0, result.output
    job = await api.pool.fetchrow("SELECT name, config FROM jobs")
    config_made = job["config"]
    assert job["name"] == "docs crawl"
    assert config_made["seeds"] == ["https://example.com/"]
    expected_limits = {
        "max_pages": 40,  # the flag wins over the file
        "max_depth": 5,  # the file's, no flag given
        "per_host_concurrency": 16,
        "min_delay_seconds": 0.5,
        "request_timeout_seconds": 5.0,
        "max_retries": 1,
        "max_body_bytes": 100000,
    }
    assert {name: config_made["limits"][name] for name in expected_limits} == expected_limits
    assert config_made["scope"]["respect_robots"] is False and config_made["scope"]["follow_nofollow"] is True
    assert config_made["scope"]["allowed_domains"] == ["cdn.example.com"]
    assert config_made["scope"]["include_patterns"] == ["/docs/"]
    assert config_made["scope"]["exclude_patterns"] == ["/private/"]
    assert config_made["options"] == {"sitemaps": False, "autothrottle": True}
    assert config_made["user_agent"] == "MyBot/1.0"


async def test_output_is_not_cut_outside_a_terminal(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS")
    assert (await trawl("keys", "create", "--tenant", "wide")).exit_code == 0
    name = "a job whose name is much longer than eighty columns would ever allow to be shown in full"
    assert (await trawl("crawl", "https://example.com/", "--name", name)).exit_code == 0
    listed = await trawl("runs", "list")
    assert name in listed.output and "running" in listed.output and "…" not in listed.output


async def test_keys_create_says_when_the_commands_switch_tenant(cli_env: Settings) -> None:
    first = await trawl("keys", "create", "--tenant", "first")
    assert "now act as tenant 'first'" in first.output and "acted as" not in first.output
    second = await trawl("keys", "create", "--tenant", "second")
    assert "now act as tenant 'second'" in second.output
    assert "they acted as tenant 'first'; --no-save keeps that" in second.output
    kept = await trawl("keys", "create", "--tenant", "third", "--no-save")
    assert "not saved: the other commands still use tenant 'second'" in kept.output


async def test_runs_show_says_why_urls_were_refused(cli_env: Settings, api: Api) -> None:
    assert (await trawl("keys", "create", "--tenant", "refusals")).exit_code == 0
    assert (await trawl("crawl", "https://example.com/")).exit_code == 0
    run = await api.pool.fetchrow("SELECT id, job_id, tenant_id FROM runs")
    report = CrawlProgress(
        tenant_id=run["tenant_id"],
        job_id=run["job_id"],
        run_id=run["id"],
        pages_crawled=40,
        pages_failed=3,
        pages_skipped=7,
        pages_total=50,
        current_depth=2,
        in_flight=0,
        reported_at=datetime.now(UTC),
        refusals={"robots": 6, "http_404": 3, "duplicate": 1},
    )
    await publish_direct(cli_env, [report])
    shown = await wait_until(lambda: _shown_with(str(run["id"]), "robots"), what="refusals shown")
    assert "│ robots" in shown and "│ 6 " in shown and "http_404" in shown and "duplicate" in shown
    assert "│ 40 " in shown, "pages fetched as the crawler reported them"


async def _shown_with(run_id: str, text: str) -> str | None:
    shown = await trawl("runs", "show", run_id)
    return shown.output if text in shown.output else None


async def test_runs_show_gives_a_keyword_runs_expansions_and_expansions_sets_a_jobs_own(
    cli_env: Settings, api: Api
) -> None:
    assert (await trawl("keys", "create", "--tenant", "expansions")).exit_code == 0
    assert (await trawl("crawl", "https://example.com/")).exit_code == 0
    run = await api.pool.fetchrow("SELECT id, job_id, tenant_id FROM runs")
    expanded = KeywordExpansion(
        state="done", note="2 phrase(s) from tiny", expanded_keywords={"tides": ["tide times"]}
    )
    report = CrawlProgress(
        tenant_id=run["tenant_id"],
        job_id=run["job_id"],
        run_id=run["id"],
        pages_crawled=1,
        pages_failed=0,
        pages_skipped=0,
        pages_total=1,
        current_depth=0,
        in_flight=0,
        reported_at=datetime.now(UTC),
        keyword_expansion=expanded,
    )
    await publish_direct(cli_env, [report])
    shown = await wait_until(
        lambda: _shown_with(str(run["id"]), "keyword expansion"), what="expansions shown"
    )
    assert (
        "keyword expansion done: 2 phrase(s) from tiny" in shown
        and "│ tides " in shown
        and "tide times" in shown
    )

    job = str(run["job_id"])
    refused = await trawl("expansions", job, "--set", "tides=tide times")
    assert refused.exit_code != 0 and "not one of the job's keywords" in refused.output
    assert (await trawl("expansions", job, "--set", "no-equals-sign")).exit_code != 0
    given_back = await trawl("expansions", job, "--llm")
    assert given_back.exit_code == 0 and "the llm service expands its keywords" in given_back.output
