"""Runs the extractor service and SIGKILLs it at its first vector upsert: the document and
its chunks are committed to Postgres, nothing is in Qdrant yet, ChunkIndexed not written.

Usage: python extractor_killed_before_upsert.py  (servers, prefixes, Qdrant path from TRAWL_* env)
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence

from services.extractor.app import SPEC
from services.extractor.vectors.edge import EdgeVectorStore
from services.extractor.vectors.points import ChunkPoint
from shared.config import Settings
from shared.service import ServiceRuntime, running


async def _killed(self: EdgeVectorStore, points: Sequence[ChunkPoint]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main() -> None:
    EdgeVectorStore.upsert = _killed  # type: ignore[method-assign]
    async with running([ServiceRuntime(SPEC, Settings(), http_port=0)]):
        await asyncio.sleep(120)
    raise SystemExit("the extractor was expected to be killed")


if __name__ == "__main__":
    asyncio.run(main())
