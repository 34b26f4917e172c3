"""Exports through the real exporter: what each format holds equals what the events carried
(nested data, Unicode, no rows at all, a header from the run's extractor schema), documents with
their Markdown, products once each, images in zip and tar archives with their manifest."""

from __future__ import annotations

import csv
import io
import json
import tarfile
import zipfile
from typing import Any
from uuid import uuid4

import httpx
import openpyxl
import pyarrow.parquet as pq
import pytest

from shared.events import ExportDataset, ExportFormat, ImagesValidated, ImageVerdict, ItemKind
from shared.s3 import tenant_key
from tests.integration.exporter.conftest import Exporter, Run, document, image, item, llm_output
from tests.support import wait_until

pytestmark = pytest.mark.integration

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "price": {"type": "number"},
        "stock": {"type": "integer"},
        "offer": {"type": "object"},
    },
}
RECORDS: list[dict[str, Any]] = [
    {
        "title": "Phare « Île Vierge » 🗼",
        "price": 12.5,
        "stock": 3,
        "offer": {"seller": "Zoë", "tags": ["a", "é"]},
    },
    {
        "title": 'Line\nbreak, "quotes"',
        "price": 7,
        "stock": 0,
        "offer": {"seller": None, "tags": []},
        "extra": True,
    },
    {"title": "中文", "price": None, "stock": None, "offer": {}},
]


async def _run_with_records(exporter: Exporter) -> Run:
    run = await exporter.start_run(SCHEMA)
    await exporter.publish(*(item(run, record, confidence=0.9, valid=True) for record in RECORDS))
    await exporter.settle()
    return run


def _data(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if not name.startswith("_")}


async def test_json_lines_and_json_hold_what_the_events_carried(exporter: Exporter) -> None:
    run = await _run_with_records(exporter)
    jsonl = await exporter.export(run, ExportFormat.JSONL)
    lines = (await exporter.download(run, jsonl)).decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [_data(row) for row in rows] == RECORDS
    assert {row["_kind"] for row in rows} == {"schema_result"} and {row["_confidence"] for row in rows} == {
        0.9
    }
    array = await exporter.export(run, ExportFormat.JSON, fields=["title", "offer.seller", "_url"])
    assert json.loads(await exporter.download(run, array)) == [
        {"title": r["title"], "offer.seller": r["offer"].get("seller"), "_url": row["_url"]}
        for r, row in zip(RECORDS, rows, strict=True)
    ]
    assert (jsonl.rows, jsonl.rows_total, jsonl.progress, array.rows) == (3, 3, 100, 3)
    assert jsonl.filename == f"items-{run.run_id}.jsonl" and jsonl.file_size == sum(
        len(line) + 1 for line in (line.encode() for line in lines)
    )


async def test_csv_header_comes_from_the_schema_and_nested_values_are_json_or_flattened(
    exporter: Exporter,
) -> None:
    run = await _run_with_records(exporter)
    plain = await exporter.export(run, ExportFormat.CSV, bom=True)
    data = await exporter.download(run, plain)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header = list(rows[0])
    assert header[:4] == ["title", "price", "stock", "offer"] and "extra" in header and "_item_id" in header
    assert [row["title"] for row in rows] == [record["title"] for record in RECORDS]
    assert json.loads(rows[0]["offer"]) == RECORDS[0]["offer"]
    assert (rows[1]["price"], rows[1]["extra"], rows[2]["price"], rows[0]["extra"]) == ("7", "true", "", "")

    flat = await exporter.export(run, ExportFormat.CSV, flatten=True, omit=["_errors"])
    flat_rows = list(csv.DictReader(io.StringIO((await exporter.download(run, flat)).decode(), newline="")))
    assert "offer" not in flat_rows[0] and "_errors" not in flat_rows[0]
    assert (flat_rows[0]["offer.seller"], json.loads(flat_rows[0]["offer.tags"])) == ("Zoë", ["a", "é"])


async def test_parquet_columns_are_typed(exporter: Exporter) -> None:
    run = await _run_with_records(exporter)
    export = await exporter.export(run, ExportFormat.PARQUET)
    table = pq.read_table(io.BytesIO(await exporter.download(run, export)))
    assert table.column_names[:4] == ["title", "price", "stock", "offer"]
    types = {field.name: str(field.type) for field in table.schema}
    assert (types["price"], types["stock"], types["extra"], types["_confidence"]) == (
        "double",
        "int64",
        "bool",
        "double",
    )
    assert table.column("title").to_pylist() == [record["title"] for record in RECORDS]
    assert table.column("stock").to_pylist() == [3, 0, None]
    assert [json.loads(text) for text in table.column("offer").to_pylist()] == [r["offer"] for r in RECORDS]


async def test_excel_reads_back_with_openpyxl(exporter: Exporter) -> None:
    run = await _run_with_records(exporter)
    export = await exporter.export(run, ExportFormat.XLSX, fields=["title", "price", "stock", "offer"])
    book = openpyxl.load_workbook(io.BytesIO(await exporter.download(run, export)), read_only=True)
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    assert rows[0] == ["title", "price", "stock", "offer"]
    assert [row[0] for row in rows[1:]] == [record["title"] for record in RECORDS]
    assert rows[1][1:3] == [12.5, 3] and rows[2][1] == 7
    assert json.loads(rows[1][3]) == RECORDS[0]["offer"]


async def test_no_rows_is_a_valid_empty_file_in_every_format(exporter: Exporter) -> None:
    run = await exporter.start_run(SCHEMA)
    files = {}
    for export_format in (
        ExportFormat.JSONL,
        ExportFormat.JSON,
        ExportFormat.CSV,
        ExportFormat.PARQUET,
        ExportFormat.XLSX,
    ):
        export = await exporter.export(run, export_format)
        assert (export.status, export.rows, export.progress) == ("completed", 0, 100), export
        files[export_format] = await exporter.download(run, export)
    assert files[ExportFormat.JSONL] == b""
    assert json.loads(files[ExportFormat.JSON]) == []
    assert files[ExportFormat.CSV].decode().splitlines()[0].startswith("title,price,stock,offer,")
    assert pq.read_table(io.BytesIO(files[ExportFormat.PARQUET])).num_rows == 0
    book = openpyxl.load_workbook(io.BytesIO(files[ExportFormat.XLSX]), read_only=True)
    assert len(list(book.active.iter_rows(values_only=True))) == 1


async def test_filters_and_products_once_each(exporter: Exporter) -> None:
    run = await exporter.start_run()
    await exporter.publish(
        item(run, {"name": "Lamp", "price": "10"}, kind=ItemKind.PRODUCT, product_hash="p1", confidence=0.5),
        item(run, {"name": "Lamp", "price": "9"}, kind=ItemKind.PRODUCT, product_hash="p1", confidence=0.8),
        item(run, {"name": "Mast"}, kind=ItemKind.PRODUCT, product_hash="p2", confidence=0.95),
        item(run, {"title": "ok"}, valid=True, confidence=0.9),
        item(run, {"title": "bad"}, valid=False, errors=[{"path": "title", "message": "short"}]),
        item(run, {"title": "rejected"}, valid=False, kept=False),
    )
    await exporter.settle()

    async def rows(dataset: ExportDataset = ExportDataset.ITEMS, **options: Any) -> list[dict[str, Any]]:
        export = await exporter.export(run, ExportFormat.JSONL, dataset, **options)
        return [json.loads(line) for line in (await exporter.download(run, export)).decode().splitlines()]

    assert len(await rows()) == 5  # the rejected record is not in the results
    assert {r.get("title") for r in await rows(kind="schema_result")} == {"ok", "bad"}
    assert {r.get("title") for r in await rows(valid=False)} == {"bad", "rejected"}
    assert {r.get("name") or r.get("title") for r in await rows(min_confidence=0.85)} == {"Mast", "ok"}
    products = await rows(ExportDataset.PRODUCTS)
    assert sorted((p["_product_hash"], p.get("price")) for p in products) == [
        ("p1", "9"),
        ("p2", None),
    ]


async def test_documents_carry_their_metadata_and_markdown(exporter: Exporter) -> None:
    run = await exporter.start_run()
    pages = [
        await document(exporter, run, "https://shop.example/a", "Phare", "# Phare\n\nLe phare « Ar-Men » 🌊"),
        await document(exporter, run, "https://shop.example/b", "Mât", "## Mât\n\n" + "mot " * 5000),
    ]
    await exporter.publish(*pages)
    await exporter.settle()
    export = await exporter.export(run, ExportFormat.JSONL, ExportDataset.DOCUMENTS)
    rows = [json.loads(line) for line in (await exporter.download(run, export)).decode().splitlines()]
    assert [(r["url"], r["title"], r["metadata"]) for r in rows] == [
        (page.url, page.title, page.metadata) for page in pages
    ]
    assert rows[0]["markdown"] == "# Phare\n\nLe phare « Ar-Men » 🌊" and rows[1]["markdown"].endswith("mot ")
    flat = await exporter.export(run, ExportFormat.CSV, ExportDataset.DOCUMENTS, flatten=True, markdown=False)
    header = (await exporter.download(run, flat)).decode().splitlines()[0].split(",")
    assert "metadata.author.name" in header and "markdown" not in header, ",".join(header)


async def test_images_in_zip_and_tar_archives_with_their_manifest(exporter: Exporter) -> None:
    run = await exporter.start_run()
    bodies = {"dawn": b"\x89PNG" + bytes(range(256)) * 300, "dusk": b"\x89PNG tiny", "mast": b"JFIF" * 10}
    stored = [
        await image(exporter, run, name, body, "jpeg" if name == "mast" else "png")
        for name, body in bodies.items()
    ]
    await exporter.publish(*stored)
    await exporter.publish(
        ImagesValidated(
            tenant_id=run.tenant_id,
            validation_id=stored[0].tenant_id,
            run_id=run.run_id,
            verdicts=[
                ImageVerdict(image_key="dawn", valid=True),
                ImageVerdict(image_key="dusk", valid=False, reasons=["too_small"]),
                ImageVerdict(image_key="mast", valid=True),
            ],
        )
    )
    await exporter.settle()

    zipped = await exporter.export(run, ExportFormat.ZIP, ExportDataset.IMAGES)
    with zipfile.ZipFile(io.BytesIO(await exporter.download(run, zipped))) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode(), newline="")))
        files = {name: archive.read(name) for name in names if name.startswith("images/")}
    assert names[0] == "manifest.csv"
    # An archive leaves out the images judged invalid, unless asked for them.
    assert files == {"images/dawn.png": bodies["dawn"], "images/mast.jpg": bodies["mast"]}
    assert [(m["file"], m["url"], m["bytes"], m["valid"]) for m in manifest] == [
        ("images/dawn.png", stored[0].url, str(len(bodies["dawn"])), "true"),
        ("images/mast.jpg", stored[2].url, str(len(bodies["mast"])), "true"),
    ]
    assert manifest[0]["label"] == "lighthouse" and zipped.rows == 2
    rejected = await exporter.export(run, ExportFormat.ZIP, ExportDataset.IMAGES, valid=False)
    with zipfile.ZipFile(io.BytesIO(await exporter.download(run, rejected))) as archive:
        (entry,) = csv.DictReader(io.StringIO(archive.read("manifest.csv").decode(), newline=""))
        assert archive.read("images/dusk.png") == bodies["dusk"]
    assert (entry["file"], entry["valid"], json.loads(entry["reasons"])) == (
        "images/dusk.png",
        "false",
        ["too_small"],
    )

    tarred = await exporter.export(run, ExportFormat.TAR, ExportDataset.IMAGES, valid=True, manifest="jsonl")
    with tarfile.open(fileobj=io.BytesIO(await exporter.download(run, tarred))) as archive:
        read = {}
        for member in archive.getmembers():
            extracted = archive.extractfile(member)
            assert extracted is not None
            read[member.name] = extracted.read()
    assert list(read) == ["manifest.jsonl", "images/dawn.png", "images/mast.jpg"]
    assert [json.loads(line)["image_key"] for line in read["manifest.jsonl"].decode().splitlines()] == [
        "dawn",
        "mast",
    ]
    assert read["images/dawn.png"] == bodies["dawn"] and tarred.rows == 2

    table = await exporter.export(run, ExportFormat.PARQUET, ExportDataset.IMAGES)
    assert pq.read_table(io.BytesIO(await exporter.download(run, table))).column("image_key").to_pylist() == [
        "dawn",
        "dusk",
        "mast",
    ]


async def test_llm_outputs_hold_each_tasks_output_carried_or_stored(exporter: Exporter) -> None:
    run = await exporter.start_run()
    stored_key = tenant_key(run.tenant_id, "llm", str(run.run_id), "stored.json")
    stored = {"tone": "calme", "tags": ["phare", "mer"], "score": 0.75}
    document = {"output": stored, "model": "gpt-test", "usage": {"prompt_tokens": 120}, "prompt_hash": "ab"}
    await exporter.objects.put(stored_key, json.dumps(document).encode(), content_type="application/json")
    carried = {"tone": "vif « ! »", "tags": [], "score": 1}
    retried = uuid4()
    await exporter.publish(
        llm_output(run, output=None, s3_output_path=stored_key, query_name="tone", product_hash="p1"),
        llm_output(run, output={"tone": "first try"}, s3_output_path="x", task_id=retried, query_name="tone"),
        llm_output(run, output=carried, s3_output_path="y", task_id=retried, query_name="tone", cached=True),
    )
    await exporter.settle()
    export = await exporter.export(run, ExportFormat.JSONL, ExportDataset.LLM_OUTPUTS)
    rows = [json.loads(line) for line in (await exporter.download(run, export)).decode().splitlines()]
    assert [row["output"] for row in rows] == [stored, carried]  # a task completed again: in place
    assert [row["query_name"] for row in rows] == ["tone", "tone"] and rows[1]["cached"] is True
    assert rows[1]["task_id"] == str(retried) and rows[0]["product_hash"] == "p1"
    assert (rows[0]["prompt_tokens"], rows[0]["completion_tokens"]) == (120, 30)

    flat = await exporter.export(run, ExportFormat.CSV, ExportDataset.LLM_OUTPUTS, flatten=True)
    table = list(csv.DictReader(io.StringIO((await exporter.download(run, flat)).decode())))
    assert [row["output.tone"] for row in table] == ["calme", "vif « ! »"]
    assert json.loads(table[0]["output.tags"]) == ["phare", "mer"] and "output" not in table[0]


async def test_a_link_works_while_the_export_lives_and_the_file_is_swept_after(exporter: Exporter) -> None:
    run = await _run_with_records(exporter)
    export = await exporter.export(run, ExportFormat.JSONL, link_ttl_seconds=60)
    assert export.expires_at is not None and export.status == "completed"
    link = await exporter.link(run.tenant_id, export.id)
    assert link.state == "ready" and link.url is not None
    assert link.expires_at is not None and link.expires_at <= export.expires_at
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(link.url)).status_code == 200
        key = f"tenants/{run.tenant_id}/exports/{export.id}/{export.filename}"
        assert await exporter.objects.exists(key)

        async def swept() -> bool:
            found = await exporter.get(run.tenant_id, export.id)
            return found is not None and found.status == "expired" and not await exporter.objects.exists(key)

        await wait_until(swept, within=90, interval=1.0, what="the expired export swept")
        assert (await plain.get(link.url)).status_code in (403, 404)  # the link died with its file
    expired = await exporter.link(run.tenant_id, export.id)
    assert (expired.state, expired.url) == ("expired", None)


async def test_webdataset_shards_hold_each_image_its_caption_and_record(exporter: Exporter) -> None:
    run = await exporter.start_run()
    bodies = {"bow": b"\x89PNG bow" * 50, "keel": b"JFIF keel" * 70, "wreck": b"\x89PNG wreck"}
    stored = [
        await image(exporter, run, name, body, "jpeg" if name == "keel" else "png")
        for name, body in bodies.items()
    ]
    stored[1] = stored[1].model_copy(update={"alt_text": None})  # no alt text: the label is the caption
    await exporter.publish(*stored)
    await exporter.publish(
        ImagesValidated(
            tenant_id=run.tenant_id,
            validation_id=uuid4(),
            run_id=run.run_id,
            verdicts=[
                ImageVerdict(image_key="bow", valid=True),
                ImageVerdict(image_key="keel", valid=True),
                ImageVerdict(image_key="wreck", valid=False, reasons=["duplicate"]),
            ],
        )
    )
    await exporter.settle()
    export = await exporter.export(run, ExportFormat.WEBDATASET, ExportDataset.IMAGES, split_rows=1)
    assert [file.name for file in export.files] == ["00000.tar", "00001.tar"] and export.rows == 2
    samples: dict[str, bytes] = {}
    for number, file in enumerate(export.files):
        assert file.rows == 1
        body = await exporter.download(run, export, file=number)
        assert len(body) == file.size
        with tarfile.open(fileobj=io.BytesIO(body)) as shard:
            for member in shard.getmembers():
                extracted = shard.extractfile(member)
                assert extracted is not None
                samples[member.name] = extracted.read()
    assert sorted(samples) == [
        "000000000.json",
        "000000000.png",
        "000000000.txt",
        "000010000.jpg",
        "000010000.json",
        "000010000.txt",
    ]
    assert samples["000000000.png"] == bodies["bow"] and samples["000010000.jpg"] == bodies["keel"]
    assert samples["000000000.txt"] == b"picture bow" and samples["000010000.txt"] == b"lighthouse"
    record = json.loads(samples["000000000.json"])
    assert (record["key"], record["image_key"], record["width"], record["valid"]) == (
        "000000000",
        "bow",
        10,
        True,
    )


async def test_split_rows_makes_a_file_every_n_rows_each_whole(exporter: Exporter) -> None:
    run = await _run_with_records(exporter)
    export = await exporter.export(run, ExportFormat.CSV, split_rows=2, fields=["title", "stock"])
    assert [(file.name, file.rows) for file in export.files] == [
        (f"items-{run.run_id}-00000.csv", 2),
        (f"items-{run.run_id}-00001.csv", 1),
    ]
    tables = [
        list(csv.DictReader(io.StringIO((await exporter.download(run, export, file=n)).decode(), newline="")))
        for n in range(2)
    ]
    assert [[row["title"] for row in table] for table in tables] == [
        [r["title"] for r in RECORDS[:2]],
        [RECORDS[2]["title"]],
    ]
    whole = await exporter.export(run, ExportFormat.PARQUET, split_rows=3)
    assert whole.files == [] and whole.rows == 3  # one file: no list
