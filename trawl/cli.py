"""`trawl`: the local stack, the services, contracts and a demo of the pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.table import Table

from shared import contracts, dlq, migrations
from shared.config import Settings
from shared.db import connect_admin
from shared.kafka import ensure_topics
from shared.logging import configure_logging
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime, run_until_signalled
from shared.topics import all_topics
from trawl import api_commands, localstack, reconcile, reindex
from trawl.console import console
from trawl.extract import extract_files

# The services (and their heavy imports: trafilatura, onnxruntime, ...) are imported by the
# commands that run them, so that `trawl up` or `trawl runs list` start at once.

app = typer.Typer(help="Trawl: crawl, extract, index, search and export, over Kafka.", no_args_is_help=True)
schemas_app = typer.Typer(help="Event contracts under schemas/.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
dlq_app = typer.Typer(help="Dead-letter topics: what failed, and replay after a fix.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.command("reconcile")(reconcile.reconcile)
app.command("reindex")(reindex.reindex)
app.command("extract")(extract_files)  # `trawl extract` itself starts from trawl.entry, without the rest


def _settings() -> Settings:
    return Settings()


@app.command()
def up() -> None:
    """Start the local stack (Kafka, PostgreSQL, S3), create topics, apply migrations."""
    settings = _settings()
    with _stack_errors():
        localstack.up(settings, log=lambda line: console.print(f"[dim]{line}[/dim]"))
        created = asyncio.run(_prepare(settings))
    console.print(
        f"topics: {len(created)} created, {len(all_topics(settings.topic_prefix)) - len(created)} existed"
    )
    _print_status(settings)


async def _prepare(settings: Settings) -> list[str]:
    """What the services expect to exist: topics, schemas and the bucket."""
    async with ObjectStore.from_settings(settings) as store:
        await store.ensure_bucket()
    created = await ensure_topics(
        settings.kafka,
        all_topics(settings.topic_prefix),
        partitions=settings.topic_partitions,
        replication=settings.topic_replication,
    )
    await _migrate_all(settings)
    return created


@app.command()
def down() -> None:
    """Stop the local stack processes that `trawl up` started."""
    with _stack_errors():
        localstack.down(_settings(), log=lambda line: console.print(f"[dim]{line}[/dim]"))


@app.command()
def status() -> None:
    """Show the state of Kafka, PostgreSQL and S3."""
    with _stack_errors():
        _print_status(_settings())


@contextlib.contextmanager
def _stack_errors() -> Iterator[None]:
    """A stack or migration problem is a one-line message and exit status 1, not a traceback."""
    try:
        yield
    except (localstack.StackError, migrations.MigrationError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def _print_status(settings: Settings) -> None:
    table = Table("component", "state", "address", "pid", "detail")
    for component in localstack.status(settings):
        colour = {"running": "green", "external": "cyan"}.get(component.state, "red")
        table.add_row(
            component.name,
            f"[{colour}]{component.state}[/{colour}]",
            component.address,
            str(component.pid or ""),
            component.detail,
        )
    console.print(table)


@app.command()
def migrate() -> None:
    """Apply every service's migrations (safe to run from several places at once)."""
    with _stack_errors():
        done = asyncio.run(_migrate_all(_settings()))
    for service, applied in done.items():
        console.print(f"{service}: {', '.join(applied) if applied else 'up to date'}")


async def _migrate_all(settings: Settings) -> dict[str, list[str]]:
    from trawl.registry import all_specs

    conn = await connect_admin(settings)
    try:
        return {
            spec.name: await migrations.migrate(
                conn, settings.schema_for(spec.name), migrations.discover(spec.migrations_dir)
            )
            for spec in all_specs()
        }
    finally:
        await conn.close()


@app.command("run-all")
def run_all() -> None:
    """Run all five services in this process until Ctrl-C."""
    from trawl.registry import all_specs

    settings = _settings()
    configure_logging("trawl", settings.log_level, settings.log_json)
    asyncio.run(run_until_signalled([ServiceRuntime(spec, settings) for spec in all_specs()]))


@schemas_app.command("generate")
def schemas_generate(
    allow_breaking: Annotated[bool, typer.Option(help="overwrite an existing version incompatibly")] = False,
) -> None:
    """Write schemas/events/*.json and schemas/asyncapi.json from the models."""
    from trawl.registry import consumers_by_event_type

    try:
        written = contracts.generate(
            contracts.SCHEMAS_DIR, consumers_by_event_type(), allow_breaking=allow_breaking
        )
    except contracts.ContractError as exc:
        console.print(f"[red]{exc}[/red]\nAdd a new major version of the event instead.")
        raise typer.Exit(1) from exc
    console.print(f"wrote {len(written)} file(s)" + "".join(f"\n  {name}" for name in written))


@schemas_app.command("check")
def schemas_check() -> None:
    """Fail when contracts are stale or an existing event version changed incompatibly."""
    from trawl.registry import consumers_by_event_type

    result = contracts.check(contracts.SCHEMAS_DIR, consumers_by_event_type())
    for problem in result.breaking:
        console.print(f"[red]breaking:[/red] {problem}")
    for problem in result.stale:
        console.print(f"[yellow]stale:[/yellow] {problem}")
    if not result.ok:
        hint = "make a new major version" if result.breaking else "run `trawl schemas generate`"
        console.print(f"schema check failed: {hint}")
        raise typer.Exit(1)
    console.print("schemas: up to date and compatible")


TopicFilter = Annotated[
    list[str] | None, typer.Option("--topic", help="only DLQs whose topic contains this, e.g. page-fetched")
]


@dlq_app.command("list")
def dlq_list(topic: TopicFilter = None) -> None:
    """Dead letters not replayed yet, oldest first per topic."""
    letters = asyncio.run(dlq.pending(_settings(), topic or ()))
    table = Table("source topic", "at", "reason", "event id", "error")
    for letter in letters:
        table.add_row(
            letter.source_topic,
            f"{letter.partition}@{letter.header('dlq_source_offset')}",
            letter.reason,
            letter.header("ce_id"),
            letter.error[:120],
        )
    console.print(table)
    console.print(f"{len(letters)} dead letter(s) pending")


@dlq_app.command("replay")
def dlq_replay(topic: TopicFilter = None) -> None:
    """Re-publish pending dead letters to their source topics (after fixing the cause)."""
    letters = asyncio.run(dlq.replay(_settings(), topic or ()))
    console.print(f"replayed {len(letters)} dead letter(s)")


@app.command()
def demo(
    timeout: Annotated[float, typer.Option(help="seconds to wait for the crawl")] = 240.0,
) -> None:
    """The main job: all services, a demo website, a crawl with progress, counts and two searches."""
    from trawl.demo import main_job

    started = time.monotonic()
    ok = asyncio.run(main_job(_settings(), console, wait_seconds=timeout))
    console.print(f"main job {'done' if ok else 'incomplete'} in {time.monotonic() - started:.0f}s")
    raise typer.Exit(0 if ok else 1)


api_commands.register(app)  # keys, crawl, runs, search, upload


def main() -> None:
    app()
