"""`trawl` commands of the public API: keys, crawl, runs, search, upload.

Everything but `keys create` goes through the HTTP API. `keys create` bootstraps: it makes a
tenant, its admin user and a key straight in ingest's tables (the API cannot authenticate a
caller before any key exists) and saves the URL and key for the other commands.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import uuid4

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.ingest import commands
from services.ingest.commands import Bootstrapped
from shared.config import Settings
from shared.search_api import SearchMode
from trawl.client import ApiError, TrawlClient, resolve, save_config

console = Console()
keys_app = typer.Typer(help="API keys: bootstrap a tenant and its first key.", no_args_is_help=True)
runs_app = typer.Typer(help="Runs: list, show, cancel, delete.", no_args_is_help=True)

T = TypeVar("T")


def _call(work: Callable[[TrawlClient], Awaitable[T]]) -> T:
    """Run one API conversation; an API problem is a one-line message and exit status 1."""
    url, key = resolve(Settings())
    if key is None:
        console.print("[red]no API key: run `trawl keys create`, or set TRAWL_API_KEY[/red]")
        raise typer.Exit(1)

    async def conversation() -> T:
        async with TrawlClient(url, key) as client:
            return await work(client)

    try:
        return asyncio.run(conversation())
    except ApiError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="name of the new tenant")] = "default",
    email: Annotated[str, typer.Option(help="its first admin user")] = "admin@localhost",
    save: Annotated[bool, typer.Option(help="save URL and key for the other commands")] = True,
) -> None:
    """Create a tenant, its admin user and an API key (shown once) directly in ingest's database."""
    settings = Settings()
    try:
        key = asyncio.run(bootstrap_tenant(settings, tenant, email)).key.plaintext
    except OSError as exc:
        console.print(f"[red]cannot reach PostgreSQL ({exc}); start the stack with `trawl up`[/red]")
        raise typer.Exit(1) from exc
    console.print(f"tenant {tenant!r}, admin {email}\nAPI key (shown once): [bold]{key}[/bold]")
    if save:
        url, _ = resolve(settings)
        path = save_config(settings, api_url=url, api_key=key)
        console.print(f"saved to {path}")


async def bootstrap_tenant(settings: Settings, tenant: str, email: str) -> Bootstrapped:
    from services.ingest.app import SPEC
    from shared.db import create_pool
    from shared.service import ServiceRuntime
    from shared.uow import Database

    await ServiceRuntime(SPEC, settings).migrate()
    pool = await create_pool(settings, SPEC.name, max_size=1)
    try:
        async with Database(
            pool, service=SPEC.name, topic_prefix=settings.topic_prefix
        ).unit_of_work() as uow:
            return await commands.create_tenant_with_admin(
                uow,
                name=tenant,
                email=email,
                quota_pages_monthly=settings.default_quota_pages_monthly,
                max_active_runs=settings.default_max_active_runs,
            )
    finally:
        await pool.close()


def crawl_job(
    url: str, *, max_pages: int, depth: int, include: list[str], exclude: list[str], schema_id: str | None
) -> dict[str, Any]:
    return {
        "name": f"crawl {url}",
        "seeds": [url],
        "limits": {"max_pages": max_pages, "max_depth": depth},
        "scope": {"include_patterns": include, "exclude_patterns": exclude},
        "extractor_schema_id": schema_id,
    }


def crawl(
    url: Annotated[str, typer.Argument(help="the seed URL")],
    max_pages: Annotated[int, typer.Option(help="stop after this many pages")] = 100,
    depth: Annotated[int, typer.Option(help="links to follow from the seed")] = 3,
    include: Annotated[list[str] | None, typer.Option(help="only URLs matching this regex")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="skip URLs matching this regex")] = None,
    schema: Annotated[Path | None, typer.Option(help="JSON Schema file of records to extract")] = None,
    wait: Annotated[bool, typer.Option(help="follow the run with a progress bar until it ends")] = False,
) -> None:
    """Crawl a site: create a job and start a run of it."""
    definition = json.loads(schema.read_text()) if schema else None

    async def work(client: TrawlClient) -> dict[str, Any]:
        schema_id = None
        if schema is not None and definition is not None:
            created = await client.create_schema(schema.stem, definition, version=uuid4().hex[:8])
            schema_id = created["id"]
        job = await client.create_job(
            crawl_job(
                url,
                max_pages=max_pages,
                depth=depth,
                include=include or [],
                exclude=exclude or [],
                schema_id=schema_id,
            )
        )
        run = await client.start_run(job["id"], idempotency_key=str(uuid4()))
        console.print(f"run {run['id']} of job {job['id']} started")
        return await follow(client, run["id"]) if wait else run

    run = _call(work)
    if wait:
        print_summary(run)
        if run["status"] != "completed":
            raise typer.Exit(1)


async def follow(client: TrawlClient, run_id: str, *, wait_seconds: float | None = None) -> dict[str, Any]:
    """Show the run's progress until it ends (or `wait_seconds` pass); returns it as last seen."""
    columns = (TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    last: dict[str, Any] = await client.run(run_id)
    with Progress(*columns, console=console, transient=False) as bar:
        fetched = bar.add_task("fetched", total=None)
        indexed = bar.add_task("indexed", total=None)

        async def updates() -> None:
            nonlocal last
            async for run in client.watch(run_id):
                last = run
                progress = run["progress"]
                known = max(progress["pages_total"], progress["pages_fetched"]) or None
                bar.update(
                    fetched, completed=progress["pages_fetched"], total=progress["pages_published"] or known
                )
                expected = (
                    progress["pages_published"] or progress["documents_expected"] or progress["pages_fetched"]
                )
                bar.update(indexed, completed=progress["extractor_outcomes"], total=expected or None)

        try:
            await asyncio.wait_for(updates(), wait_seconds)
        except TimeoutError:
            console.print(f"[yellow]still {last['status']} after {wait_seconds:.0f}s[/yellow]")
    return last


def print_summary(run: dict[str, Any]) -> None:
    progress = run["progress"]
    table = Table(
        "run", "status", "pages fetched", "failed", "documents", "chunks", "items", "errors", "took"
    )
    colour = {"completed": "green", "running": "yellow"}.get(run["status"], "red")
    took = "" if not run.get("finished_at") else _seconds_between(run["started_at"], run["finished_at"])
    table.add_row(
        run["id"][:8],
        f"[{colour}]{run['status']}[/{colour}]",
        str(progress["pages_fetched"]),
        str(progress["pages_failed"]),
        str(progress["documents_indexed"]),
        str(progress["chunks_indexed"]),
        str(progress["items_extracted"]),
        str(progress["errors"]),
        took,
    )
    console.print(table)


def _seconds_between(start: str, end: str) -> str:
    from datetime import datetime

    return f"{(datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds():.1f}s"


@runs_app.command("list")
def runs_list(
    status: Annotated[str | None, typer.Option(help="only runs in this status")] = None,
    limit: Annotated[int, typer.Option(help="most recent first")] = 20,
) -> None:
    """Recent runs of this tenant."""
    runs = _call(lambda client: client.runs(status=status, limit=limit))
    table = Table("run", "job", "kind", "status", "pages", "chunks", "errors", "created")
    for run in runs:
        progress = run["progress"]
        table.add_row(
            run["id"],
            run["job_name"] or "",
            run["kind"],
            run["status"],
            str(progress["pages_fetched"]),
            str(progress["chunks_indexed"]),
            str(progress["errors"]),
            run["created_at"][:19],
        )
    console.print(table)


@runs_app.command("show")
def runs_show(run_id: str) -> None:
    """One run with its progress."""
    run = _call(lambda client: client.run(run_id))
    print_summary(run)
    console.print_json(json.dumps(run))


@runs_app.command("cancel")
def runs_cancel(run_id: str) -> None:
    """Stop a run: no new work starts for it."""
    run = _call(lambda client: client.cancel(run_id))
    console.print(f"run {run['id']} {run['status']}")


@runs_app.command("delete")
def runs_delete(run_id: str) -> None:
    """Delete a run and, in every service, everything it produced."""
    _call(lambda client: client.delete(run_id))
    console.print(f"run {run_id} deleted")


def search(
    query: Annotated[str, typer.Argument(help="what to look for")],
    mode: Annotated[SearchMode, typer.Option(help="hybrid, vector or keyword")] = SearchMode.HYBRID,
    run: Annotated[str | None, typer.Option(help="only this run's documents")] = None,
    limit: Annotated[int, typer.Option(help="how many hits")] = 5,
) -> None:
    """Search what this tenant has indexed; prints ranked hits."""
    result = _call(lambda client: client.search(query, mode=mode.value, run_id=run, limit=limit))
    print_hits(result)


def print_hits(result: dict[str, Any]) -> None:
    table = Table(
        "#", "score", "title / url", "snippet", title=f"{result['mode']} search: {result['query']!r}"
    )
    for rank, hit in enumerate(result["hits"], start=1):
        where = f"{hit.get('title') or ''}\n[dim]{hit.get('url') or hit['document_id']}[/dim]"
        table.add_row(str(rank), f"{hit['score']:.3f}", where, hit["text"][:160].replace("\n", " "))
    console.print(table)
    console.print(f"{len(result['hits'])} hit(s) in {result['took_ms']:.0f} ms")


def upload(
    files: Annotated[list[Path], typer.Argument(help="HTML, PDF, text or Markdown files", exists=True)],
) -> None:
    """Upload files to be indexed as one run."""

    async def work(client: TrawlClient) -> dict[str, Any]:
        return await client.upload(files)

    result = _call(work)
    table = Table("document", "file", "type", "bytes")
    for document in result["documents"]:
        table.add_row(
            document["document_id"], document["filename"], document["content_type"], str(document["size"])
        )
    console.print(table)
    console.print(f"run {result['run']['id']} indexes them; `trawl runs show {result['run']['id']}`")


def submit(
    config: Annotated[Path, typer.Argument(help="a JSON file with a job configuration", exists=True)],
    idempotency_key: Annotated[str | None, typer.Option(help="the same key gives the same run")] = None,
    wait_seconds: Annotated[float, typer.Option(help="how long to wait for the intake's answer")] = 30.0,
) -> None:
    """Publish a JobSubmitted to Kafka (as an external producer would) and show what intake made of it."""
    from shared.events import JobSubmitted
    from shared.producer import publish_direct

    settings = Settings()
    raw = json.loads(config.read_text())

    async def work(client: TrawlClient) -> dict[str, Any] | None:
        me = await client.me()
        submission = JobSubmitted(
            tenant_id=me["tenant_id"],
            submission_id=uuid4(),
            idempotency_key=idempotency_key,
            config=raw,
            submitted_by=f"key:{me['key_id']}",
        )
        await publish_direct(settings, [submission])
        console.print(f"published JobSubmitted {submission.submission_id}")
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if (outcome := await client.submission(str(submission.submission_id))) is not None:
                return outcome
            await asyncio.sleep(0.5)
        return None

    outcome = _call(work)
    if outcome is None:
        console.print(f"[yellow]no answer from intake within {wait_seconds:.0f}s[/yellow]")
        raise typer.Exit(1)
    if outcome["status"] == "rejected":
        console.print("[red]rejected:[/red]" + "".join(f"\n  {reason}" for reason in outcome["reasons"]))
        raise typer.Exit(1)
    console.print(f"[green]accepted:[/green] run {outcome['run_id']}")


def register(app: typer.Typer) -> None:
    """Add these commands to the `trawl` CLI."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(runs_app, name="runs")
    for command in (crawl, submit, search, upload):
        app.command()(command)
