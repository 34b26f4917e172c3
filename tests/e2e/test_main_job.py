"""The main job end to end through the public API: all five services, the bundled demo site
crawled over loopback, counts, a known sentence as the top hybrid hit, the shop's twelve
products with their name, price, currency, SKU and availability, and a second run of the job
that observes them again and adds none.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import Settings
from shared.service import ServiceRuntime, running
from trawl.api_commands import bootstrap_tenant
from trawl.client import TrawlClient
from trawl.demo import DEMO_SITE, crawl_demo_site, demo_settings, products_by_id, run_again, serving_demo_site
from trawl.demo_site.content import ARTICLES, PRODUCTS
from trawl.registry import all_specs

pytestmark = pytest.mark.integration

KNOWN_SENTENCE = "The Saltmarsh lighthouse keeper lit the lamp every night for forty-one years"
PAGES = len(list(DEMO_SITE.rglob("*.html"))) + len(list(DEMO_SITE.rglob("*.pdf")))


async def test_the_demo_site_is_crawled_indexed_and_searchable(settings: Settings) -> None:
    settings = demo_settings(settings)
    others = [ServiceRuntime(spec, settings, http_port=0) for spec in all_specs() if spec.name != "ingest"]
    async with running(others), serving_demo_site() as site_url:
        extractor = next(runtime for runtime in others if runtime.spec.name == "extractor")
        assert extractor.http is not None
        wired = settings.model_copy(update={"extractor_internal_url": extractor.http.url})
        ingest_spec = next(spec for spec in all_specs() if spec.name == "ingest")
        async with running([ServiceRuntime(ingest_spec, wired, http_port=0)]) as (ingest,):
            assert ingest.http is not None
            made = await bootstrap_tenant(wired, "e2e", "e2e@localhost")
            async with TrawlClient(ingest.http.url, made.key.plaintext) as client:
                run = await crawl_demo_site(client, site_url, wait_seconds=240)
                assert run["status"] == "completed", run
                progress = run["progress"]
                # Every page of the site is linked from the home page within four hops.
                assert progress["pages_fetched"] == PAGES == len(ARTICLES) + len(PRODUCTS) + 6
                assert progress["extractor_outcomes"] == PAGES
                # Listing pages may be skipped as thin; articles, products and the PDF are indexed.
                assert progress["documents_indexed"] >= len(ARTICLES) + len(PRODUCTS) + 1
                assert progress["chunks_indexed"] >= progress["documents_indexed"]
                assert progress["errors"] == 0

                result = await client.search(
                    "how long did the lighthouse keeper light the lamp", run_id=run["id"]
                )
                assert result["mode"] == "hybrid"
                top = result["hits"][0]
                assert KNOWN_SENTENCE in top["text"]
                assert top["url"].endswith("/articles/lighthouse-keeper.html")

                products = await client.search("waterproof lantern for the deck", run_id=run["id"])
                assert any("led-deck-lantern" in (hit["url"] or "") for hit in products["hits"][:3])

                # The product pages' schema.org data, one product each.
                assert progress["items_extracted"] == len(PRODUCTS)
                found = await products_by_id(client)
                by_sku = {product["product_data"]["sku"]: product for product in found.values()}
                assert sorted(by_sku) == sorted(sku for _, _, _, sku, _ in PRODUCTS)
                for _, name, price, sku, _ in PRODUCTS:
                    seen = by_sku[sku]
                    assert (seen["name"], seen["price"], seen["currency"], seen["availability"]) == (
                        name,
                        f"{price:.2f}",
                        "EUR",
                        "InStock",
                    )
                again = await run_again(client, run["job_id"], wait_seconds=240)
                assert again["status"] == "completed", again
                assert again["progress"]["items_extracted"] == len(PRODUCTS)
                assert (await products_by_id(client)).keys() == found.keys()
                history = (await client.product(next(iter(found))))["history"]
                assert [entry["run_id"] for entry in history] == [run["id"], again["id"]]


def test_the_site_has_a_few_dozen_pages_and_a_pdf() -> None:
    assert 25 <= PAGES <= 60
    assert Path(DEMO_SITE / "harbour-safety-guide.pdf").read_bytes().startswith(b"%PDF-")
