"""`trawl llm sessions | tasks SESSION | task ID | retry SESSION | ask RUN`: LLM tasks, through
the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from trawl.console import console
from trawl.conversation import call_api

llm_app = typer.Typer(help="LLM tasks: sessions, their tasks, outputs, and bulk retry.", no_args_is_help=True)


@llm_app.command()
def sessions(limit: Annotated[int, typer.Option(help="at most this many")] = 50) -> None:
    """The tenant's LLM sessions (one per run), newest first, with their tasks by status."""
    found = call_api(lambda client: client.llm_sessions(limit=limit))
    table = Table("session", "run", "tasks", "tokens", "cost $", "created")
    for session in found["sessions"]:
        counts = ", ".join(f"{status} {count}" for status, count in sorted(session["tasks"].items()))
        table.add_row(
            session["id"],
            session["run_id"],
            counts or "none",
            str(session["prompt_tokens"] + session["completion_tokens"]),
            f"{session['cost']:.4f}",
            session["created_at"][:19],
        )
    console.print(table)


@llm_app.command()
def tasks(
    session_id: Annotated[str, typer.Argument(help="a session id (see `trawl llm sessions`)")],
    status: Annotated[
        str | None, typer.Option(help="pending, running, completed, failed or retrying")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
) -> None:
    """A session's tasks: what each asked, its status, attempts, tokens and why it failed or waits."""
    found = call_api(lambda client: client.llm_tasks(session_id, status=status, limit=limit))
    table = Table("task", "kind", "query", "product", "status", "attempts", "tokens", "why")
    for task in found["tasks"]:
        why = task["error_message"] or task["waiting_reason"] or ("cached" if task["cached"] else "")
        table.add_row(
            task["id"],
            task["kind"],
            task["query_name"] or "",
            task["product_name"] or task["product_hash"] or "",
            task["status"],
            str(task["attempts"]),
            str(task["prompt_tokens"] + task["completion_tokens"]),
            (f"{task['error_class']}: " if task["error_class"] else "") + why,
        )
    console.print(table)


@llm_app.command()
def task(task_id: Annotated[str, typer.Argument(help="a task id")]) -> None:
    """One task as JSON, with a link to its output (valid for an hour) once completed."""
    found = call_api(lambda client: client.llm_task(task_id))
    console.print_json(json.dumps(found))


@llm_app.command()
def retry(session_id: Annotated[str, typer.Argument(help="a session id")]) -> None:
    """Run the session's failed tasks again (and only those)."""
    found = call_api(lambda client: client.llm_retry(session_id))
    console.print(f"{found['retried']} failed task(s) of session {session_id} will run again")


@llm_app.command()
def ask(
    run_id: Annotated[str, typer.Argument(help="the run whose documents, items or search hits to ask about")],
    prompt: Annotated[str, typer.Option(help="what to ask of each one")],
    schema: Annotated[Path | None, typer.Option(help="a JSON Schema file of each answer (an object)")] = None,
    items: Annotated[bool, typer.Option("--items", help="ask of the run's items, not its documents")] = False,
    item_kind: Annotated[str | None, typer.Option(help="with --items: product or schema_result only")] = None,
    search: Annotated[
        str | None, typer.Option(help="ask of the hits of this search within the run, one task a hit")
    ] = None,
    mode: Annotated[str, typer.Option(help="with --search: hybrid, vector or keyword")] = "hybrid",
    hits: Annotated[int, typer.Option(help="with --search: hits at most (100)")] = 10,
    limit: Annotated[int, typer.Option(help="documents or items at most")] = 1000,
) -> None:
    """Ask the model PROMPT of every document of the run (or every item, or every hit of a
    search within it), as a session of its own."""
    if items and search is not None:
        raise typer.BadParameter("--items or --search, not both")
    output_schema = json.loads(schema.read_text()) if schema is not None else None
    source = "items" if items else "search_hits" if search is not None else "documents"
    searched = {"query": search, "mode": mode, "limit": hits} if search is not None else None
    found = call_api(
        lambda client: client.llm_ask(
            run_id,
            prompt,
            output_schema=output_schema,
            limit=limit,
            source=source,
            item_kind=item_kind,
            search=searched,
        )
    )
    asked = {"documents": "document(s)", "items": "item(s)", "search_hits": "search hit(s)"}[source]
    console.print(
        f"{found['requested']} {asked} asked about in session {found['session_id']}: "
        f"`trawl llm tasks {found['session_id']}`"
    )
