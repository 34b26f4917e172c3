"""`trawl images RUN` and `trawl validate RUN --rules FILE`: a run's image dataset, through the API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from trawl.client import TrawlClient
from trawl.console import console
from trawl.conversation import call_api

_FINISHED = ("completed", "failed")


def images(
    run_id: Annotated[str, typer.Argument(help="the run")],
    valid: Annotated[
        bool | None, typer.Option("--valid/--invalid", help="only valid, or only invalid, images")
    ] = None,
    label: Annotated[str | None, typer.Option(help="only images found for this keyword")] = None,
    reason: Annotated[str | None, typer.Option(help="only images invalid for this reason")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="the images as JSON lines, with links")] = False,
) -> None:
    """The run's images with the latest validation's verdicts, and its rejection reasons."""
    page = call_api(
        lambda client: client.images(run_id, valid=valid, label=label, reason=reason, limit=limit)
    )
    if as_json:
        for image in page["images"]:
            print(json.dumps(image, ensure_ascii=False))
        return
    table = Table("url", "label", "size", "format", "bytes", "verdict")
    for image in page["images"]:
        size = f"{image['width']}x{image['height']}" if image["width"] else ""
        table.add_row(
            image["url"],
            image["label"] or "",
            size,
            image["format"] or "",
            f"{image['bytes']:,}",
            _verdict(image),
        )
    console.print(table)
    if page["validation_id"] is None:
        console.print("not validated yet: `trawl validate RUN --rules FILE`")
    else:
        console.print(f"validation {page['validation_id']} ({page['validation_status']})")
        _print_reasons(page["reasons"])
    if page["next_cursor"]:
        console.print(f"more: GET /v1/runs/{run_id}/images?cursor={page['next_cursor']}")


def validate(
    run_id: Annotated[str, typer.Argument(help="the run whose images to judge")],
    rules: Annotated[Path, typer.Option(help="a JSON file of rules (min_width, formats, duplicates...)")],
    name: Annotated[str, typer.Option(help="the validation's name")] = "",
    wait: Annotated[bool, typer.Option(help="follow it with a progress bar until it ends")] = False,
) -> None:
    """Start a validation job over the run's images."""
    body: dict[str, Any] = json.loads(rules.read_text())

    async def work(client: TrawlClient) -> dict[str, Any]:
        started = await client.validate(run_id, body, name=name)
        console.print(f"validation {started['id']} of run {run_id} started")
        return await follow_validation(client, started["id"]) if wait else started

    validation = call_api(work)
    if wait:
        console.print(
            f"{validation['status']}: {validation['valid']} valid, {validation['invalid']} invalid "
            f"of {validation['total']}"
        )
        _print_reasons(validation["reasons"])
        if validation["status"] != "completed":
            console.print(f"[red]{validation['error_message']}[/red]")
            raise typer.Exit(1)


async def follow_validation(
    client: TrawlClient, validation_id: str, *, wait_seconds: float | None = None, poll_seconds: float = 0.5
) -> dict[str, Any]:
    """Poll the validation until it ends (or `wait_seconds` pass), with a progress bar."""
    columns = (TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        judged = bar.add_task("validated", total=None)
        async with asyncio.timeout(wait_seconds):
            while True:
                validation = await client.validation(validation_id)
                bar.update(judged, completed=validation["validated"], total=validation["total"] or None)
                if validation["status"] in _FINISHED:
                    return validation
                await asyncio.sleep(poll_seconds)


def _verdict(image: dict[str, Any]) -> str:
    if image["valid"] is None:
        return ""
    return "valid" if image["valid"] else "invalid: " + ", ".join(image["reasons"])


def _print_reasons(reasons: dict[str, int]) -> None:
    if not reasons:
        return
    table = Table("reason", "images")
    for reason, count in sorted(reasons.items(), key=lambda pair: -pair[1]):
        table.add_row(reason, str(count))
    console.print(table)
