"""How rows are shaped and how their columns are learnt."""

from __future__ import annotations

from services.exporter.domain.plan import manifest_columns, starting_columns
from services.exporter.domain.rows import (
    Columns,
    ColumnType,
    flatten,
    schema_columns,
    shape,
    shaped_rows,
    unwound,
)
from shared.events import ExportDataset, ExportOptions


def test_flatten_makes_dotted_columns_of_nested_objects_keeps_lists_and_drops_empty_objects() -> None:
    row = {
        "name": "Lamp",
        "offer": {"price": 12.5, "seller": {"name": "Ada"}},
        "tags": ["a", "b"],
        "empty": {},
    }
    assert flatten(row) == {
        "name": "Lamp",
        "offer.price": 12.5,
        "offer.seller.name": "Ada",
        "tags": ["a", "b"],
    }


def test_fields_pick_columns_in_their_order_even_by_path_and_omit_leaves_some_out() -> None:
    row = {"name": "Lamp", "offer": {"price": 12.5}, "sku": "L1"}
    assert shape(row, ExportOptions(fields=["sku", "offer.price", "missing"])) == {
        "sku": "L1",
        "offer.price": 12.5,
        "missing": None,
    }
    assert shape(row, ExportOptions(omit=["offer"])) == {"name": "Lamp", "sku": "L1"}
    assert shape(row, ExportOptions(flatten=True, omit=["sku"])) == {"name": "Lamp", "offer.price": 12.5}


def test_schema_properties_come_first_with_their_declared_types() -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "year": {"type": ["integer", "null"]},
            "authors": {"type": "array"},
            "meta": {"type": "object"},
        },
    }
    assert schema_columns(schema) == {
        "title": ColumnType.STRING,
        "year": ColumnType.INT,
        "authors": ColumnType.JSON,
        "meta": ColumnType.OBJECT,
    }
    columns = starting_columns(ExportDataset.ITEMS, ExportOptions(), schema)
    columns.observe([{"extra": 1, "title": "T", "_item_id": "x"}])
    assert columns.names[:4] == ["title", "year", "authors", "meta"]
    assert columns.names[-1] == "extra"
    assert columns.types()["year"] is ColumnType.INT  # no value: as declared


def test_column_types_follow_the_values() -> None:
    columns = Columns()
    columns.observe(
        [{"a": 1, "b": 1, "c": "x", "d": True, "e": {"k": 1}}, {"a": 2, "b": 2.5, "c": 3, "e": None}]
    )
    assert columns.types() == {
        "a": ColumnType.INT,
        "b": ColumnType.FLOAT,
        "c": ColumnType.STRING,
        "d": ColumnType.BOOL,
        "e": ColumnType.OBJECT,
    }


def test_fields_fix_the_columns() -> None:
    columns = starting_columns(ExportDataset.ITEMS, ExportOptions(fields=["name", "_url"]), None)
    columns.observe([{"name": "n", "_url": "u", "other": 1}])
    assert columns.fixed and columns.names == ["name", "_url"]


def test_flattened_documents_lose_the_nested_metadata_column_to_its_leaves() -> None:
    columns = starting_columns(ExportDataset.DOCUMENTS, ExportOptions(flatten=True, markdown=False), None)
    assert "metadata" not in columns.names and "markdown" not in columns.names
    assert manifest_columns(ExportOptions()).names[0] == "file"


def test_unwind_makes_a_row_per_list_element_and_merges_objects() -> None:
    row = {
        "name": "lamp",
        "offers": [{"shop": "a", "price": 1}, {"shop": "b", "price": 2}],
        "tags": ["x", "y"],
    }
    assert unwound(row, "offers") == [
        {"name": "lamp", "tags": ["x", "y"], "shop": "a", "price": 1},
        {"name": "lamp", "tags": ["x", "y"], "shop": "b", "price": 2},
    ]
    assert unwound(row, "tags") == [
        {"name": "lamp", "offers": row["offers"], "tags": "x"},
        {"name": "lamp", "offers": row["offers"], "tags": "y"},
    ]
    assert unwound({"name": "lamp", "offer": {"shop": "a"}}, "offer") == [{"name": "lamp", "shop": "a"}]
    assert unwound({"name": "lamp", "offers": []}, "offers") == []
    assert unwound({"name": "lamp"}, "offers") == [{"name": "lamp"}]
    assert unwound(row, None) == [row]


def test_shaped_rows_unwind_before_fields_pick() -> None:
    rows = [{"name": "lamp", "offers": [{"shop": "a"}, {"shop": "b"}]}, {"name": "desk", "offers": None}]
    options = ExportOptions(unwind="offers", fields=["name", "shop"])
    assert shaped_rows(rows, options) == [
        {"name": "lamp", "shop": "a"},
        {"name": "lamp", "shop": "b"},
        {"name": "desk", "shop": None},
    ]
