"""`trawl extract`: local files through the extractor's pipeline, one JSON object per file."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from trawl.extract import app

FIXTURES = Path(__file__).parents[2] / "fixtures" / "extraction"


def test_files_gz_and_a_url_map_give_one_json_line_each(tmp_path: Path) -> None:
    article = tmp_path / "night-trains.html"
    shutil.copy(FIXTURES / "pages" / "en-news-night-trains.html", article)
    packed = tmp_path / "metro.html.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "pages" / "ru-news-metro.html").read_bytes()))
    urls = tmp_path / "urls.tsv"
    urls.write_text(f"{article}\thttps://news.example/night-trains\n{packed}\thttps://news.example/metro\n")

    result = CliRunner().invoke(app, [str(article), str(packed), "--urls", str(urls), "--jsonl"])

    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert set(first) == {
        "file",
        "url",
        "title",
        "markdown",
        "text",
        "metadata",
        "products",
        "result",
        "tags",
    }
    assert first["products"] == [] and first["result"] is None
    assert {"name": "language", "value": "en", "source": "metadata"} in first["tags"]
    assert first["url"] == "https://news.example/night-trains"
    assert first["title"] == "Night trains return to the northern line after twenty years"
    assert "Fares start at 49 for a seat in a reclining coach" in first["text"]
    assert "## Why now" in first["markdown"] and "## Why now" not in first["text"]
    assert first["metadata"]["date"] == "2024-10-06"
    assert second["url"] == "https://news.example/metro"
    assert "В субботу утром в городе открылись четыре новые станции метро" in second["text"]  # noqa: RUF001


def test_one_url_for_every_file_and_a_broken_file_is_reported(tmp_path: Path) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Tides\n\nHigh water at 05:42.\n")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")

    result = CliRunner().invoke(app, [str(note), str(broken), "--url", "https://x.example/n"])

    assert result.exit_code == 1
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(result.output)
    second, _ = decoder.raw_decode(result.output[end:].lstrip())
    assert first["title"] == "Tides" and first["text"] == "# Tides\n\nHigh water at 05:42."
    assert second["file"] == str(broken) and "PDF" in second["error"]


def test_a_schema_gives_each_file_its_record_and_a_product_page_its_products(tmp_path: Path) -> None:
    page = tmp_path / "kettle.html"
    page.write_text(
        "<html lang='en-GB'><body><h1>Copper kettle</h1><p class='price'>£51.77</p><p>In stock</p>"
        "<p>SKU: CK-7</p><p class='finish'>Finish: brushed</p><button>Add to basket</button></body></html>"
    )
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "definition": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "price": {"type": "number"},
                        "finish": {
                            "type": "string",
                            "x-trawl-selector": ".finish",
                            "x-trawl-regex": r"Finish: (\w+)",
                        },
                    },
                    "required": ["name", "price", "finish"],
                },
                "strict_validation": True,
            }
        )
    )
    result = CliRunner().invoke(
        app, [str(page), "--url", "https://shop.example.co.uk/kettle", "--schema", str(schema)]
    )

    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    (product,) = found["products"]
    assert (
        product["name"],
        product["price"],
        product["currency"],
        product["sku"],
        product["availability"],
    ) == (
        "Copper kettle",
        "51.77",
        "GBP",
        "CK-7",
        "InStock",
    )
    assert product["main"] is True and 0 < product["confidence"] <= 1
    assert found["result"]["valid"] is True
    assert found["result"]["data"] == {"name": "Copper kettle", "price": 51.77, "finish": "brushed"}


def test_a_schema_that_cannot_be_used_is_refused_before_any_file_is_read(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"a": {"x-trawl-selector": "p[["}}}))
    result = CliRunner().invoke(app, [str(tmp_path / "missing.html"), "--schema", str(schema)])
    assert result.exit_code == 2
    assert "x-trawl-selector" in result.output
