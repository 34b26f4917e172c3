"""`trawl extract FILE...`: the extractor's own pipeline on local files, with no service running.

Like the `trafilatura` command line, for trying pages and for scoring extraction: each file is
read (`.gz` inflated), typed, decoded and extracted exactly as the extractor does it for a
crawled page, and printed as one JSON object `{"file", "url", "title", "markdown", "text",
"metadata"}`; `text` is the plain main text, `markdown` what gets chunked. Only the extractor's
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

app = typer.Typer(add_completion=False)

# The service's defaults (shared.config.Settings), not imported: Settings pulls in pydantic.
_MAX_BYTES = 50_000_000
_MAX_PDF_PAGES = 500


def extract_bytes(data: bytes, url: str | None, *, name: str | None = None) -> dict[str, Any]:
    """The JSON object for one page or document (without its "file")."""
    document = extract(data, "", url=url, name=name, max_bytes=_MAX_BYTES, max_pdf_pages=_MAX_PDF_PAGES)
    if document is None:
        return {"url": url, "title": "", "markdown": "", "text": "", "metadata": {"skipped": "not_text"}}
    return {
        "url": url,
        "title": document.title,
        "markdown": document.markdown,
        "text": document.text,
        "metadata": document.metadata,
    }


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
) -> None:
    """Extract local files as the extractor does (no services needed), one JSON object per file."""
    if url is not None and urls is not None:
        raise typer.BadParameter("give --url or --urls, not both")
    url_map = read_url_map(urls) if urls is not None else {}
    failed = 0
    for path in files:
        page_url = url if url is not None else url_map.get(str(path), url_map.get(str(path.resolve())))
        data = path.read_bytes()
        name = path.name
        if name.endswith(".gz"):
            data, name = gzip.decompress(data), name.removesuffix(".gz")
        try:
            result: dict[str, Any] = {"file": str(path), **extract_bytes(data, page_url, name=name)}
        except DocumentError as exc:
            failed += 1
            result = {"file": str(path), "url": page_url, "error": str(exc)}
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=None if jsonl else 2) + "\n")
    if failed:
        raise typer.Exit(1)
