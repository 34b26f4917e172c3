"""`trawl reindex [--model NAME] [--run ID]`: rebuild the vectors from Postgres into a new
collection while searches keep using the current one, then switch; a live progress bar.

The extractor owns the vector store (Qdrant Edge is embedded in it), so the command asks the
running extractor over its internal HTTP and follows the progress it records. A reindex
survives the extractor being killed: it resumes when the extractor is back, and running this
command again follows it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any
from uuid import UUID

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.config import Settings
from shared.internal_api import INTERNAL_TOKEN_HEADER, REINDEX_PATH
from trawl.console import console

_POLL_SECONDS = 0.5


def extractor_client(settings: Settings, timeout: float | None = 30.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=settings.extractor_url,
        headers={INTERNAL_TOKEN_HEADER: settings.internal_token},
        timeout=timeout,
    )


def reindex(
    model: Annotated[str | None, typer.Option(help="embedding model of the new collection")] = None,
    run: Annotated[
        UUID | None, typer.Option("--run", help="only re-embed this run's chunks, in place")
    ] = None,
    reembed: Annotated[bool, typer.Option(help="embed the text again even with the live model")] = False,
    wait: Annotated[bool, typer.Option(help="follow the reindex to its end")] = True,
) -> None:
    """Rebuild the vector index from Postgres without stopping searches (or one run's vectors)."""
    settings = Settings()
    try:
        status = asyncio.run(_reindex(settings, model, run, reembed, wait))
    except httpx.HTTPError as exc:
        console.print(f"[red]the extractor at {settings.extractor_url} did not answer: {exc}[/red]")
        raise typer.Exit(2) from exc
    if status.get("error"):
        console.print(f"[yellow]last error (it resumes by itself): {status['error']}[/yellow]")
    console.print(
        f"collection {status['collection']} ({status['model']}): {status['state']}, "
        f"{status['copied']}/{status['total']} chunks copied"
    )


async def _reindex(
    settings: Settings, model: str | None, run: UUID | None, reembed: bool, wait: bool
) -> dict[str, Any]:
    async with extractor_client(settings, timeout=None if run else 30.0) as client:
        body = {"model": model, "run_id": str(run) if run else None, "reembed": reembed}
        answer = await client.post(REINDEX_PATH, json=body)
        if answer.status_code == 409 and "under way" in answer.text:
            console.print(f"[dim]{answer.json()['detail']}: following it[/dim]")
            answer = await client.get(REINDEX_PATH)
        if answer.status_code >= 400:
            console.print(f"[red]{answer.json().get('detail', answer.text)}[/red]")
            raise typer.Exit(1)
        status: dict[str, Any] = answer.json()
        if run or not wait:
            return status
        return await _follow(client, status["collection"])


async def _follow(client: httpx.AsyncClient, collection: str) -> dict[str, Any]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("copying", total=None)
        started = time.monotonic()
        while True:
            answer = await client.get(REINDEX_PATH)
            answer.raise_for_status()
            status: dict[str, Any] = answer.json()
            if status["collection"] != collection:  # switched and superseded meanwhile
                return status
            bar.update(
                task, description=status["phase"], completed=status["copied"], total=status["total"] or None
            )
            if status["state"] == "active":
                console.print(f"switched to {collection} after {time.monotonic() - started:.0f}s")
                return status
            await asyncio.sleep(_POLL_SECONDS)
