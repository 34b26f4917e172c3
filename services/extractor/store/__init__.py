"""The extractor's SQL; nothing else touches its tables. Callers use `store.<query>`; the queries
live in one module per subject.

Customer queries filter on tenant_id. The reconciliation queries are the exception by design:
an operator's tool comparing whole stores across tenants.
"""

from __future__ import annotations

from services.extractor.store.documents import (
    NewDocument,
    chunk_ids,
    chunks_for_points,
    delete_run_rows,
    deleted_run_keys,
    deletion_keys,
    document_exists,
    documents_to_index,
    index_lag,
    insert_document,
    mark_indexed,
    pending_deletions,
    request_run_deletion,
    run_is_deleted,
    run_tenant,
    set_deletion_state,
    unchanged_in_job,
    unindexed_chunks,
    unreferenced_keys,
)
from services.extractor.store.items import (
    ProductSighting,
    StoredResult,
    delete_run_items,
    document,
    document_extractions,
    document_tags,
    insert_extractions,
    insert_result,
    insert_tags,
    observe_product,
    previous_products,
    product,
    product_history,
    products,
    reusable_result,
    run_items,
)
from services.extractor.store.search import (
    hit_details,
    keyword_search,
    latest_documents,
)

__all__ = [
    "NewDocument",
    "ProductSighting",
    "StoredResult",
    "chunk_ids",
    "chunks_for_points",
    "delete_run_items",
    "delete_run_rows",
    "deleted_run_keys",
    "deletion_keys",
    "document",
    "document_exists",
    "document_extractions",
    "document_tags",
    "documents_to_index",
    "hit_details",
    "index_lag",
    "insert_document",
    "insert_extractions",
    "insert_result",
    "insert_tags",
    "keyword_search",
    "latest_documents",
    "mark_indexed",
    "observe_product",
    "pending_deletions",
    "previous_products",
    "product",
    "product_history",
    "products",
    "request_run_deletion",
    "reusable_result",
    "run_is_deleted",
    "run_items",
    "run_tenant",
    "set_deletion_state",
    "unchanged_in_job",
    "unindexed_chunks",
    "unreferenced_keys",
]
