"""`trawl items RUN` and `trawl products [ID]`: what the extractor found, through the API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from trawl.console import console
from trawl.conversation import call_api


def items(
    run_id: Annotated[str, typer.Argument(help="the run")],
    kind: Annotated[str | None, typer.Option(help="product or schema_result")] = None,
    valid: Annotated[
        bool | None, typer.Option("--valid/--invalid", help="only valid, or only invalid, records")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="the items as JSON lines")] = False,
) -> None:
    """The run's products and schema records."""
    page = call_api(lambda client: client.items(run_id, kind=kind, valid=valid, limit=limit))
    if as_json:
        for item in page["items"]:
            print(json.dumps(item, ensure_ascii=False))
        return
    table = Table("kind", "url", "data", "valid", "confidence")
    for item in page["items"]:
        table.add_row(
            item["kind"],
            item["url"] or "",
            _summary(item["data"]),
            "" if item["valid"] is None else ("yes" if item["valid"] else f"no: {_errors(item)}"),
            "" if item["confidence"] is None else f"{item['confidence']:.2f}",
        )
    console.print(table)
    if page["next_cursor"]:
        console.print(f"more: GET /v1/runs/{run_id}/items?cursor={page['next_cursor']}")


def products(
    product_id: Annotated[str | None, typer.Argument(help="one product, with its history")] = None,
    brand: Annotated[str | None, typer.Option(help="the product's or the job's brand")] = None,
    query: Annotated[str | None, typer.Option("--q", help="words of the name")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
) -> None:
    """The tenant's products with their latest price and availability (or one, with its history)."""
    if product_id is not None:
        found = call_api(lambda client: client.product(product_id))
        console.print(
            f"[bold]{found['name']}[/bold]  ({found['identity_basis']}: {found['product_hash'][:12]})"
        )
        history = Table("observed", "price", "regular", "currency", "availability", "changed", "run")
        for entry in found["history"]:
            history.add_row(
                entry["observed_at"][:19],
                entry["price"] or "",
                entry["regular_price"] or "",
                entry["currency"] or "",
                entry["availability"] or "",
                "yes" if entry["changed"] else "",
                entry["run_id"],
            )
        console.print(history)
        return
    page = call_api(lambda client: client.products(brand=brand, query=query, limit=limit))
    print_products(page["products"])


def print_products(found: list[dict[str, Any]]) -> None:
    table = Table("product", "name", "sku", "brand", "price", "currency", "availability", "last seen")
    for product in found:
        table.add_row(
            product["id"],
            product["name"] or "",
            str(product["product_data"].get("sku") or ""),
            product["brand_name"] or product["brand"] or "",
            product["price"] or "",
            product["currency"] or "",
            product["availability"] or "",
            product["last_seen_at"][:19],
        )
    console.print(table)


def _summary(data: dict[str, Any]) -> str:
    shown = [f"{key}={value}" for key, value in data.items() if value not in (None, "", [], {})][:6]
    return ", ".join(shown)[:200]


def _errors(item: dict[str, Any]) -> str:
    return "; ".join(f"{error['path']}: {error['message']}" for error in item["errors"])[:200]
