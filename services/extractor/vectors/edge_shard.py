"""The Qdrant Edge shard, inside its host process (see `edge.py` for why a process).

Functions here run in the host and take and return plain data (pickled across the process
boundary); the shard is module state, opened once by `open_shard`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from pathlib import Path
from typing import Any

from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    MatchValue,
    PayloadSchemaType,
    Point,
    Query,
    QueryRequest,
    ScrollRequest,
    UpdateOperation,
)

from services.extractor.vectors.points import INDEXED_FIELDS

VECTOR = "dense"
_SCROLL_PAGE = 2000
_PR_SET_PDEATHSIG = 1

_shard: EdgeShard | None = None

Matches = list[tuple[str, str]]


def open_shard(path: str, dimension: int, parent: int) -> None:
    """Process initializer: die with the parent (a host left behind would hold the shard's
    lock, and a restarted service could not open it), leave Ctrl-C to the parent, and open
    or create the shard."""
    global _shard
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above: nobody will signal
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    directory = Path(path)
    if (directory / "wal").exists():
        _shard = EdgeShard.load(path)
        return
    directory.mkdir(parents=True, exist_ok=True)
    _shard = EdgeShard.create(
        path, EdgeConfig(vectors={VECTOR: EdgeVectorParams(size=dimension, distance=Distance.Cosine)})
    )
    for field in INDEXED_FIELDS:
        _shard.update(UpdateOperation.create_field_index(field, PayloadSchemaType.Keyword))
    _shard.flush()


def _opened() -> EdgeShard:
    if _shard is None:
        raise RuntimeError("the shard is not open in this process")
    return _shard


def _filter(matches: Matches) -> Filter | None:
    if not matches:
        return None
    return Filter(must=[FieldCondition(key=key, match=MatchValue(value)) for key, value in matches])


def _durably(operation: UpdateOperation) -> None:
    # The WAL alone survives the process being killed (probed); flushing makes the write
    # survive the machine too, before the caller marks anything indexed. About 5 ms a call.
    shard = _opened()
    shard.update(operation)
    shard.flush()


def host_pid() -> int:
    return os.getpid()


def ping() -> int:
    return _opened().info().points_count


def unindexed() -> int:
    info = _opened().info()
    return max(0, info.points_count - info.indexed_vectors_count)


def upsert(points: list[tuple[str, list[float], dict[str, Any]]]) -> None:
    _durably(
        UpdateOperation.upsert_points(
            [
                Point(id=point_id, vector={VECTOR: vector}, payload=payload)
                for point_id, vector, payload in points
            ]
        )
    )


def delete_ids(ids: list[str]) -> None:
    _durably(UpdateOperation.delete_points(list(ids)))


def delete_where(matches: Matches) -> None:
    where = _filter(matches)
    if where is None:
        raise ValueError("deleting by filter needs at least one condition")
    _durably(UpdateOperation.delete_points_by_filter(where))


def query(vector: list[float], matches: Matches, limit: int) -> list[tuple[str, float, str | None]]:
    found = _opened().query(
        QueryRequest(
            limit=limit, query=Query.Nearest(vector, using=VECTOR), filter=_filter(matches), with_payload=True
        )
    )
    return [(str(point.id), point.score, (point.payload or {}).get("url")) for point in found]


def vectors(ids: list[str]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for record in _opened().retrieve(list(ids), with_payload=False, with_vector=True):
        dense = record.vector.get(VECTOR) if isinstance(record.vector, dict) else None
        if isinstance(dense, list):
            found[str(record.id)] = [float(value) for value in dense]  # type: ignore[arg-type]
    return found


def point_ids(matches: Matches) -> list[str]:
    shard, where = _opened(), _filter(matches)
    ids: list[str] = []
    offset: Any = None
    while True:
        records, offset = shard.scroll(
            ScrollRequest(
                offset=offset, limit=_SCROLL_PAGE, filter=where, with_payload=False, with_vector=False
            )
        )
        ids.extend(str(record.id) for record in records)
        if offset is None:
            return ids


def count(matches: Matches) -> int:
    return _opened().count(CountRequest(exact=True, filter=_filter(matches)))


def build_index() -> bool:
    shard = _opened()
    built = shard.optimize()
    shard.flush()
    return built


def close_shard() -> None:
    global _shard
    if _shard is not None:
        with contextlib.suppress(Exception):
            _shard.flush()
        _shard.close()
        _shard = None
