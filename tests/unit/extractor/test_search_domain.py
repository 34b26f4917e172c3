from __future__ import annotations

from uuid import uuid4

import pytest

from services.extractor.domain.search import (
    RRF_K,
    chunk_id,
    page_document_id,
    reciprocal_rank_fusion,
    relaxed_queries,
)


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


def test_a_query_of_several_terms_is_relaxed_to_all_but_one_then_two_then_one() -> None:
    assert relaxed_queries("'lighthous' & 'fresnel' & 'lens' & 'keeper'") == [
        "( 'lighthous' & 'fresnel' & 'lens' ) | ( 'lighthous' & 'fresnel' & 'keeper' )"
        " | ( 'lighthous' & 'lens' & 'keeper' ) | ( 'fresnel' & 'lens' & 'keeper' )",
        "( 'lighthous' & 'fresnel' ) | ( 'lighthous' & 'lens' ) | ( 'lighthous' & 'keeper' )"
        " | ( 'fresnel' & 'lens' ) | ( 'fresnel' & 'keeper' ) | ( 'lens' & 'keeper' )",
        "'lighthous' | 'fresnel' | 'lens' | 'keeper'",
    ]


def test_two_terms_relax_to_either_and_one_term_not_at_all() -> None:
    assert relaxed_queries("'tide' & 'tabl'") == ["'tide' | 'tabl'"]
    assert relaxed_queries("'tide'") == []
    assert relaxed_queries("") == []


def test_a_repeated_term_counts_once_and_quotes_inside_a_term_survive() -> None:
    assert relaxed_queries("'o''brien' & 'lamp' & 'o''brien'") == ["'o''brien' | 'lamp'"]


@pytest.mark.parametrize(
    "strict", ["'tide' <-> 'tabl' & 'north'", "'tide' & !'tabl' & 'north'", "'tide' | 'tabl'", "'a' <2> 'b'"]
)
def test_phrases_negations_and_alternatives_keep_their_meaning(strict: str) -> None:
    assert relaxed_queries(strict) == []


def test_a_long_query_skips_the_steps_with_too_many_groups() -> None:
    terms = [f"'term{number}'" for number in range(9)]
    steps = relaxed_queries(" & ".join(terms))
    assert [step.count("(") for step in steps] == [9, 0]  # all but one (9 groups); 36 pairs are too many
    assert steps[-1] == " | ".join(terms)


def test_three_terms_relax_to_pairs_then_any() -> None:
    assert relaxed_queries("'a' & 'b' & 'c'") == [
        "( 'a' & 'b' ) | ( 'a' & 'c' ) | ( 'b' & 'c' )",
        "'a' | 'b' | 'c'",
    ]
