from __future__ import annotations

from uuid import uuid4

from services.extractor.domain.search import RRF_K, chunk_id, page_document_id, reciprocal_rank_fusion


def test_rrf_rewards_agreement_and_keeps_ranks() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a", "d"]])
    assert [item.key for item in fused] == ["a", "c", "b", "d"]
    first = fused[0]
    assert first.ranks == (1, 2)
    assert first.score == 1 / (RRF_K + 1) + 1 / (RRF_K + 2)
    assert fused[-1].ranks == (None, 3)


def test_rrf_of_one_list_keeps_its_order() -> None:
    assert [item.key for item in reciprocal_rank_fusion([["x", "y", "z"], []])] == ["x", "y", "z"]


def test_ids_are_deterministic() -> None:
    run = uuid4()
    assert page_document_id(run, "h") == page_document_id(run, "h") != page_document_id(uuid4(), "h")
    document = page_document_id(run, "h")
    assert chunk_id(document, 0) == chunk_id(document, 0) != chunk_id(document, 1)
