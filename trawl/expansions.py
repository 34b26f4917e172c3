"""Keyword expansion on the command line: a run's expansions shown with its summary, and
`trawl expansions JOB` to set the job's own (or give the choice back to the LLM)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from trawl.console import console
from trawl.conversation import call_api


def print_expansion(run: dict[str, Any]) -> None:
    """What became of a keyword run's expansions, and the phrases searched per keyword."""
    expansion = run.get("keyword_expansion")
    if not expansion:
        return
    note = f": {expansion['note']}" if expansion.get("note") else ""
    console.print(f"keyword expansion [bold]{expansion['state']}[/bold]{note}")
    if expansion["expanded_keywords"]:
        table = Table("keyword", "also searched")
        for keyword, phrases in expansion["expanded_keywords"].items():
            table.add_row(keyword, "; ".join(phrases))
        console.print(table)


def expansions(
    job_id: Annotated[str, typer.Argument(help="a keyword job")],
    phrase: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEYWORD=PHRASE: search PHRASE besides KEYWORD (repeatable)"),
    ] = None,
    none: Annotated[bool, typer.Option("--none", help="search the keywords alone")] = False,
    llm: Annotated[bool, typer.Option("--llm", help="let the llm service expand them again")] = False,
) -> None:
    """Set a job's own expansions of its keywords, used from its next run on instead of the
    LLM's (`trawl runs show RUN` shows what a run searched)."""
    if sum((bool(phrase), none, llm)) != 1:
        raise typer.BadParameter("one of --set (repeatable), --none or --llm")
    chosen: dict[str, list[str]] | None = None if llm else {}
    for given in phrase or []:
        keyword, equals, text = given.partition("=")
        if not equals or not keyword.strip() or not text.strip():
            raise typer.BadParameter(f"--set {given!r}: expected KEYWORD=PHRASE")
        assert chosen is not None
        chosen.setdefault(keyword.strip(), []).append(text.strip())
    job = call_api(lambda client: client.set_expanded_keywords(job_id, chosen))
    given_now = job["config"].get("expanded_keywords")
    if given_now is None:
        console.print(f"job {job_id}: the llm service expands its keywords (when one is configured)")
    else:
        console.print(f"job {job_id}: its next runs search, besides the keywords:")
        for keyword, phrases in given_now.items():
            console.print(f"  {keyword}: {'; '.join(phrases)}")
