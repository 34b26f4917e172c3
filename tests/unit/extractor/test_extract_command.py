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
    assert set(first) == {"file", "url", "title", "markdown", "text", "metadata"}
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
