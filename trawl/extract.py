"""`trawl extract FILE...`: the extractor's own pipeline on local files, with no service running.

Like the `trafilatura` command line, for trying pages and for scoring extraction: each file is
read (`.gz` inflated), typed, decoded and extracted exactly as the extractor does it for a
crawled page, and printed as one JSON object `{"file", "url", "title", "markdown", "text",
"metadata", "products", "result", "tags"}`; `text` is the plain main text, `markdown` what gets
chunked, `products` the products found (the page's main product first, each field with its
source and confidence), `result` the record `--schema` asks for (`{"data", "valid", "errors",
"confidence"}`, null without a schema) and `tags` the document's tags. Only the extractor's
domain code is imported, so the command starts fast.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from services.extractor.domain.documents import DocumentError
from services.extractor.domain.extract import extract
from services.extractor.domain.items import LOCAL_SCHEMA, ItemsPlan, RecordPlan, find_items
from services.extractor.domain.records import schema_problems

app = typer.Typer(add_completion=False)

# The service's defaults (shared.config.Settings), not imported: Settings pulls in pydantic.
_MAX_BYTES = 50_000_000
_MAX_PDF_PAGES = 500


def extract_bytes(
    data: bytes, url: str | None, *, name: str | None = None, plan: ItemsPlan | None = None
) -> dict[str, Any]:
    """The JSON object for one page or document (without its "file")."""
    document = extract(data, "", url=url, name=name, max_bytes=_MAX_BYTES, max_pdf_pages=_MAX_PDF_PAGES)
    if document is None:
        return {
            "url": url,
            "title": "",
            "markdown": "",
            "text": "",
            "metadata": {"skipped": "not_text"},
            "products": [],
            "result": None,
            "tags": [],
        }
    found = find_items(document, url, plan or ItemsPlan())
    return {
        "url": url,
        "title": document.title,
        "markdown": document.markdown,
        "text": document.text,
        "metadata": document.metadata,
        "products": [product.to_json() for product in found.products],
        "result": found.record.to_json() if found.record is not None else None,
        "tags": [{"name": tag.name, "value": tag.value, "source": tag.source} for tag in found.tags],
    }


def read_schema(path: Path) -> ItemsPlan:
    """A JSON Schema file, or an extractor schema as the API takes it (`{"definition", "strict_validation",
    "allow_extra_fields"}`), as the plan of a job with that schema."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{path}: {exc}") from exc
    wrapped = isinstance(raw, dict) and isinstance(raw.get("definition"), dict)
    definition = raw["definition"] if wrapped else raw
    if not isinstance(definition, dict):
        raise typer.BadParameter(f"{path}: a JSON Schema is an object")
    if problems := schema_problems(definition):
        raise typer.BadParameter(f"{path}: {'; '.join(problems)}")
    options = raw if wrapped else {}
    return ItemsPlan(
        RecordPlan(
            LOCAL_SCHEMA,
            str(options.get("version", "1.0")),
            definition,
            bool(options.get("strict_validation", False)),
            bool(options.get("allow_extra_fields", True)),
        )
    )


def read_url_map(path: Path) -> dict[str, str]:
    """`path<TAB>url` lines (blank lines and `#` comments skipped), keyed by the path as written
    and by its resolved form, so `./a.html` and `a.html` both find their URL."""
    found: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        file, tab, url = line.partition("\t")
        if not tab or not url.strip():
            raise typer.BadParameter(f"{path}:{number}: expected path<TAB>url")
        found[file] = found[str(Path(file).resolve())] = url.strip()
    return found


@app.command()
def extract_files(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", help="HTML, PDF, Markdown, JSON or text files; .gz is read too"),
    ],
    url: Annotated[str | None, typer.Option(help="the page URL of every FILE")] = None,
    urls: Annotated[
        Path | None, typer.Option(help="a file of path<TAB>url lines giving each FILE its page URL")
    ] = None,
    jsonl: Annotated[bool, typer.Option(help="one compact JSON object a line")] = False,
    schema: Annotated[
        Path | None,
        typer.Option(help="a JSON Schema (or an extractor schema) each file's record is made with"),
    ] = None,
) -> None:
    """Extract local files as the extractor does (no services needed), one JSON object per file."""
    if url is not None and urls is not None:
        raise typer.BadParameter("give --url or --urls, not both")
    url_map = read_url_map(urls) if urls is not None else {}
    plan = read_schema(schema) if schema is not None else None
    failed = 0
    for path in files:
        page_url = url if url is not None else url_map.get(str(path), url_map.get(str(path.resolve())))
        data = path.read_bytes()
        name = path.name
        if name.endswith(".gz"):
            data, name = gzip.decompress(data), name.removesuffix(".gz")
        try:
            result: dict[str, Any] = {
                "file": str(path),
                **extract_bytes(data, page_url, name=name, plan=plan),
            }
        except DocumentError as exc:
            failed += 1
            result = {"file": str(path), "url": page_url, "error": str(exc)}
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=None if jsonl else 2) + "\n")
    if failed:
        raise typer.Exit(1)
