"""A schema job end to end through the public API: a paginated shop crawled through its "next"
buttons, one schema record per product page (the listing and about pages match no pattern),
products with their identity and an observation per run, ItemExtracted on Kafka, and a second
run that finds no new product and reuses each unchanged page's record."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest

from shared.config import Settings
from shared.events import ItemExtracted
from shared.topics import topic_for
from tests.e2e.stack import public_api
from tests.sites.shop_site import PRODUCTS, ShopSite
from tests.support import consume_all
from trawl.api_commands import bootstrap_tenant
from trawl.client import TrawlClient
from trawl.crawling import follow
from trawl.demo import demo_settings

pytestmark = pytest.mark.integration

SCHEMA = {
    "title": "Product",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "sku": {"type": "string"},
        "price": {"type": "number"},
        "currency": {"type": "string"},
        "availability": {"type": "string"},
        "material": {
            "type": "string",
            "x-trawl-selector": "p.material",
            "x-trawl-regex": "Material:\\s*(\\w+)",
        },
    },
    "required": ["name", "sku", "price", "material"],
}


async def test_a_schema_job_on_a_paginated_shop_gives_one_record_per_product_page(settings: Settings) -> None:
    async with ShopSite() as site, public_api(demo_settings(settings)) as (api, wired):
        made = await bootstrap_tenant(wired, "shop", "shop@localhost")
        headers = {"Authorization": f"Bearer {made.key.plaintext}"}
        async with (
            TrawlClient(api, made.key.plaintext) as client,
            httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as http,
        ):
            schema = await http.post("/v1/extractor-schemas", json={"name": "lantern", "definition": SCHEMA})
            assert schema.status_code == 201, schema.text
            job = await client.create_job(
                {
                    "name": "lanterns",
                    "kind": "scrape",
                    "seeds": [site.url("/shop?page=1")],
                    "pagination": {"type": "next_button", "next_selector": "a.next"},
                    "extractor_schema_id": schema.json()["id"],
                    "options": {"schema_url_patterns": ["/product/"]},
                    "brand_name": "Harbour",
                    "limits": {"max_pages": 50, "max_depth": 3},
                }
            )
            first = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
            assert first["status"] == "completed", first
            product_pages = len(PRODUCTS)
            # One record per product page and one product per product page, all kept.
            assert first["progress"]["items_extracted"] == 2 * product_pages, first["progress"]

            records = await _items(http, first["id"], "schema_result")
            by_url = {record["url"].removeprefix(site.base_url): record for record in records}
            assert sorted(by_url) == sorted(f"/product/{p.slug}" for p in PRODUCTS)
            for product in PRODUCTS:
                record = by_url[f"/product/{product.slug}"]
                assert record["valid"] is True, record
                data = record["data"]
                assert data["name"] == product.name
                assert data["sku"] == product.sku
                assert Decimal(str(data["price"])) == Decimal(product.price)
                assert data["material"] == product.material

            found = (await http.get("/v1/products", params={"brand": "Harbour", "limit": 100})).json()
            listed = {p["product_data"]["sku"]: p for p in found["products"]}
            assert sorted(listed) == sorted(p.sku for p in PRODUCTS)
            for product in PRODUCTS:
                seen = listed[product.sku]
                assert (seen["name"], seen["price"], seen["currency"], seen["availability"]) == (
                    product.name,
                    product.price,
                    product.currency,
                    product.availability,
                )

            announced = [
                ItemExtracted.model_validate_json(record.value)
                for record in await consume_all(
                    wired, [topic_for(ItemExtracted, wired.topic_prefix)], expected=2 * product_pages
                )
            ]
            of_run = [event for event in announced if event.run_id == UUID(first["id"])]
            assert sorted(event.kind.value for event in of_run) == sorted(
                ["product"] * product_pages + ["schema_result"] * product_pages
            )
            assert all(event.changed for event in of_run)

            second = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
            assert second["status"] == "completed", second
            assert second["progress"]["items_extracted"] == 2 * product_pages, second["progress"]
            again = (await http.get("/v1/products", params={"brand": "Harbour", "limit": 100})).json()
            assert len(again["products"]) == product_pages  # no new product, only observations
            detail = (await http.get(f"/v1/products/{listed[PRODUCTS[0].sku]['id']}")).json()
            assert [entry["run_id"] for entry in detail["history"]] == [first["id"], second["id"]]
            assert [entry["changed"] for entry in detail["history"]] == [True, False]
            reused = await _items(http, second["id"], "schema_result")
            assert len(reused) == product_pages
            assert {record["url"] for record in reused} == {record["url"] for record in records}


async def _items(http: httpx.AsyncClient, run_id: str, kind: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"kind": kind, "limit": 5} | ({"cursor": cursor} if cursor else {})
        page = await http.get(f"/v1/runs/{run_id}/items", params=params)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items
