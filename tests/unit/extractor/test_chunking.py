"""Chunking properties (hypothesis) with the model's real WordPiece tokenizer."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.extractor.domain.chunking import chunk_blocks
from services.extractor.domain.documents import Block
from services.extractor.embeddings import count_tokens, wordpiece

_WORDS = st.text(
    alphabet=st.characters(categories=("L", "N", "P"), exclude_characters="\x00"), min_size=1, max_size=14
)
_PARAGRAPH = st.lists(_WORDS, min_size=1, max_size=60).map(" ".join)
_BLOCK = st.builds(
    lambda paragraphs, headings: Block("\n\n".join(paragraphs), tuple(headings)),
    st.lists(_PARAGRAPH, min_size=1, max_size=5),
    st.lists(st.sampled_from(["Intro", "Usage", "Notes"]), max_size=2),
)
_LIMITS = st.integers(min_value=16, max_value=120).flatmap(
    lambda size: st.tuples(st.just(size), st.integers(min_value=0, max_value=size // 2))
)


@dataclass(frozen=True)
class _Word:
    block: int
    text: str
    tokens: int


def _real_tokens(text: str) -> int:
    return len(wordpiece().encode(text, add_special_tokens=False).ids)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_BLOCK, min_size=1, max_size=4), _LIMITS)
def test_chunks_respect_the_limit_cover_the_text_in_order_and_overlap_as_configured(
    blocks: list[Block], limits: tuple[int, int]
) -> None:
    max_tokens, overlap = limits
    # The oracle is the input itself: its whitespace-separated words in order, each with its
    # block and its count under the model's real tokenizer (no word here is long enough to cut).
    words = [
        _Word(block_index, text, _real_tokens(text))
        for block_index, block in enumerate(blocks)
        for text in block.text.split()
    ]
    chunks = chunk_blocks(blocks, count_tokens, max_tokens=max_tokens, overlap_tokens=overlap)

    for chunk in chunks:
        # The real tokenizer on the chunk's text agrees with the per-word sum, and it fits.
        assert chunk.token_count == _real_tokens(chunk.text)
        assert chunk.token_count <= max_tokens
        assert chunk.text.split() == [word.text for word in words[chunk.start : chunk.end]]
        assert len({words[i].block for i in range(chunk.start, chunk.end)}) == 1

    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    assert chunks[0].start == 0 and chunks[-1].end == len(words)
    for previous, chunk in itertools.pairwise(chunks):
        assert chunk.start > previous.start and chunk.end > previous.end
        if words[chunk.start].block != words[previous.start].block:
            assert chunk.start == previous.end  # a new block starts fresh
            continue
        assert chunk.start <= previous.end  # no word is skipped
        shared = sum(word.tokens for word in words[chunk.start : previous.end])
        assert shared <= overlap
        # The overlap is as large as allowed: one more word would exceed it or reach back to
        # the previous chunk's start, unless the overlap had to be dropped to make progress.
        if chunk.start < previous.end and chunk.start - 1 > previous.start:
            assert shared + words[chunk.start - 1].tokens > overlap


def test_words_are_never_split_and_headings_and_pages_are_kept() -> None:
    text = " ".join(f"word{i} ends." if i % 9 == 8 else f"word{i}" for i in range(300))
    blocks = [Block(text, ("Guide", "Setup"), page=4), Block("Short tail section.", ("Guide", "Tail"))]
    chunks = chunk_blocks(blocks, count_tokens, max_tokens=64, overlap_tokens=8)
    source_words = set(text.split()) | {"Short", "tail", "section."}
    for chunk in chunks:
        assert set(chunk.text.split()) <= source_words
    assert {chunk.metadata["headings"] == ["Guide", "Setup"] for chunk in chunks[:-1]} == {True}
    assert chunks[0].metadata["page"] == 4
    assert chunks[-1].metadata == {"headings": ["Guide", "Tail"]}
    # Early breaks land after a sentence when one is in the second half of the window.
    assert all(chunk.text.endswith("ends.") for chunk in chunks[:-2])


def test_a_word_longer_than_the_limit_is_the_one_thing_cut() -> None:
    blob = "Q" * 500
    chunks = chunk_blocks([Block(f"before {blob} after")], count_tokens, max_tokens=32, overlap_tokens=0)
    assert all(chunk.token_count <= 32 for chunk in chunks)
    assert "".join(chunk.text.replace(" ", "") for chunk in chunks) == f"before{blob}after"
