"""One conversation with the public API, as a command has it: the URL and key resolved, an API
problem printed as one line and exit status 1 (never a traceback)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from shared.config import Settings
from trawl.client import ApiError, TrawlClient, resolve
from trawl.console import console

T = TypeVar("T")


def call_api(work: Callable[[TrawlClient], Awaitable[T]]) -> T:
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
