"""The exporter's SQL; nothing else touches its tables."""

from __future__ import annotations

from shared.db import Connection
from shared.events import ItemExtracted


async def add_item(conn: Connection, item: ItemExtracted) -> bool:
    """False when the run is unknown here (deleted, or never announced) or the item was stored."""
    inserted = await conn.fetchval(
        """INSERT INTO export_items
                  (item_id, run_id, tenant_id, kind, data, content_hash, confidence, source_url)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8
            WHERE EXISTS (SELECT 1 FROM run_configs WHERE run_id = $2 AND tenant_id = $3)
           ON CONFLICT (item_id) DO NOTHING RETURNING true""",
        item.item_id,
        item.run_id,
        item.tenant_id,
        item.kind.value,
        item.data,
        item.content_hash,
        item.confidence,
        item.source_url,
    )
    return bool(inserted)
