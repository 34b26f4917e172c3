"""`trawl export RUN|--job JOB --format parquet [--dataset items] [--fields a,b] [--wait] [-o FILE]`: a
run's dataset as a file, made by the exporter, followed with a progress bar and downloaded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trawl.client import TrawlClient
from trawl.console import console
from trawl.conversation import call_api

_POLL_SECONDS = 0.5
_ENDED = ("completed", "failed", "expired")


def export(
    run_id: Annotated[str | None, typer.Argument(help="the run whose data to export")] = None,
    job: Annotated[
        str | None, typer.Option(help="or a job: the data of all its runs (products: the latest of each)")
    ] = None,
    format: Annotated[
        str, typer.Option(help="csv, jsonl, json, xlsx, parquet; for images zip, tar or webdataset")
    ] = "jsonl",
    dataset: Annotated[str, typer.Option(help="items, products, documents, llm_outputs or images")] = "items",
    fields: Annotated[str | None, typer.Option(help="only these columns, comma-separated, in order")] = None,
    omit: Annotated[str | None, typer.Option(help="columns left out, comma-separated")] = None,
    flatten: Annotated[bool, typer.Option(help="nested objects as dotted columns")] = False,
    bom: Annotated[bool, typer.Option(help="CSV: a byte order mark, for Excel")] = False,
    unwind: Annotated[str | None, typer.Option(help="a row per element of this list column")] = None,
    split_rows: Annotated[
        int | None, typer.Option(help="a new file every N rows (webdataset: samples per shard)")
    ] = None,
    ttl: Annotated[int, typer.Option(help="seconds the file lives (7 days at most)")] = 3600,
    wait: Annotated[bool, typer.Option(help="follow the export and download its file")] = True,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="where to write the file")] = None,
) -> None:
    """Export a run's items, products, documents, LLM outputs or images; with --wait (the
    default) the file is downloaded when it is ready (to -o, else to its own name in this
    directory; the files of an export of several into the -o directory)."""
    options: dict[str, Any] = {"flatten": flatten, "bom": bom, "unwind": unwind, "split_rows": split_rows}
    if fields:
        options["fields"] = [name.strip() for name in fields.split(",") if name.strip()]
    if omit:
        options["omit"] = [name.strip() for name in omit.split(",") if name.strip()]
    if (run_id is None) == (job is None):
        console.print("[red]name a run (RUN) or a job (--job), not both[/red]")
        raise typer.Exit(2)
    body = {
        "run_id": run_id,
        "job_id": job,
        "dataset": dataset,
        "format": format,
        "options": options,
        "link_ttl_seconds": ttl,
    }
    if not wait:
        made = call_api(lambda client: client.create_export(body))
        console.print(f"export {made['id']} {made['status']} (GET /v1/exports/{made['id']})")
        return
    call_api(lambda client: export_and_download(client, body, output))


async def export_and_download(client: TrawlClient, body: dict[str, Any], output: Path | None) -> None:
    """Asks for the export, follows it with a progress bar, downloads its file."""
    made = await client.create_export(body)
    done = await _follow(client, made["id"])
    if done["status"] != "completed":
        console.print(f"[red]export {done['id']} {done['status']}: {done.get('error_message') or ''}[/red]")
        raise typer.Exit(1)
    several = done.get("files") or []
    if not several:
        target = output or Path(done["filename"])
        size = await client.download_export(done["id"], target)
        console.print(f"{done['rows']:,} rows, {size:,} bytes -> {target}")
        return
    directory = output or Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    size = 0
    for number, file in enumerate(several):
        size += await client.download_export(done["id"], directory / file["name"], file=number)
    console.print(f"{done['rows']:,} rows, {size:,} bytes in {len(several)} files -> {directory}/")


async def _follow(client: TrawlClient, export_id: str) -> dict[str, Any]:
    columns = (TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        rows = bar.add_task("rows", total=None)
        while True:
            current = await client.export(export_id)
            bar.update(rows, completed=current["rows_written"], total=current["rows_total"])
            if current["status"] in _ENDED:
                return current
            await asyncio.sleep(_POLL_SECONDS)
