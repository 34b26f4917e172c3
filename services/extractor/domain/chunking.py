"""Heading-aware, token-bounded chunking.

A document is a list of blocks (a Markdown section under its heading path, a PDF page). Each
block is cut into windows of whole words whose token counts add up to at most `max_tokens`;
consecutive windows of a block share up to `overlap_tokens` of trailing words; a window never
spans two blocks, so every chunk has one heading path and one page. Where a window must end
early it ends at a paragraph break, else after a sentence, if one lies in its second half.

Token counts come from the embedding model's own tokenizer, counted per word: BERT-style
tokenizers split on whitespace first, so the words' counts add up to the text's count. The
one thing ever cut is a single "word" longer than the whole limit (a base64 blob, say).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.extractor.domain.documents import Block

# Tokens of each word, without the model's special tokens.
TokenCounter = Callable[[Sequence[str]], list[int]]

_WORD = re.compile(r"(\s*)(\S+)")
_SENTENCE_END = re.compile(r"[.!?;:][\"')\]]*$")


@dataclass(frozen=True)
class Word:
    text: str
    separator: str  # what stood before it: "", " ", "\n" or "\n\n"
    block: int
    tokens: int


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    token_count: int
    headings: tuple[str, ...]
    page: int | None
    start: int  # first word, in the document's word numbering (`split_words`)
    end: int  # one past the last word

    @property
    def metadata(self) -> dict[str, object]:
        meta: dict[str, object] = {"headings": list(self.headings)}
        if self.page is not None:
            meta["page"] = self.page
        return meta


def split_words(blocks: Sequence[Block], count_tokens: TokenCounter, max_tokens: int) -> list[Word]:
    raw: list[tuple[str, str, int]] = []
    for number, block in enumerate(blocks):
        for position, match in enumerate(_WORD.finditer(block.text)):
            raw.append((match.group(2), "" if position == 0 else _separator(match.group(1)), number))
    counts = count_tokens([text for text, _, _ in raw]) if raw else []
    words: list[Word] = []
    for (text, separator, number), tokens in zip(raw, counts, strict=True):
        if tokens <= max_tokens:
            words.append(Word(text, separator, number, tokens))
            continue
        # A WordPiece token covers at least one character, so pieces this long always fit.
        pieces = [text[i : i + max_tokens] for i in range(0, len(text), max_tokens)]
        for i, (piece, piece_tokens) in enumerate(zip(pieces, count_tokens(pieces), strict=True)):
            words.append(Word(piece, separator if i == 0 else "", number, piece_tokens))
    return words


def _separator(whitespace: str) -> str:
    newlines = whitespace.count("\n")
    return "\n\n" if newlines >= 2 else "\n" if newlines == 1 else " "


def chunk_blocks(
    blocks: Sequence[Block], count_tokens: TokenCounter, *, max_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    if not 0 <= overlap_tokens <= max_tokens // 2:
        raise ValueError("overlap_tokens must be between 0 and half of max_tokens")
    words = split_words(blocks, count_tokens, max_tokens)
    chunks: list[Chunk] = []
    start = 0
    while start < len(words):
        block_end = start
        while block_end < len(words) and words[block_end].block == words[start].block:
            block_end += 1
        for first, last in _windows(words, start, block_end, max_tokens, overlap_tokens):
            block = blocks[words[first].block]
            chunks.append(
                Chunk(
                    index=len(chunks),
                    text=_join(words[first:last]),
                    token_count=sum(word.tokens for word in words[first:last]),
                    headings=block.headings,
                    page=block.page,
                    start=first,
                    end=last,
                )
            )
        start = block_end
    return chunks


def _windows(
    words: Sequence[Word], start: int, stop: int, max_tokens: int, overlap_tokens: int
) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    first = start
    previous_end = start
    while True:
        last = _fill(words, first, stop, max_tokens)
        if last <= previous_end and windows:
            # The overlap left no room for a new word: start after the previous window instead.
            first = previous_end
            last = _fill(words, first, stop, max_tokens)
        if last < stop:
            last = _better_break(words, first, last, after=previous_end)
        windows.append((first, last))
        if last >= stop:
            return windows
        previous_end = last
        first = _overlap_start(words, first, last, overlap_tokens)


def _fill(words: Sequence[Word], first: int, stop: int, max_tokens: int) -> int:
    total = 0
    last = first
    while last < stop and total + words[last].tokens <= max_tokens:
        total += words[last].tokens
        last += 1
    return last


def _better_break(words: Sequence[Word], first: int, last: int, *, after: int) -> int:
    """A paragraph break, else a sentence end, in the window's second half and past `after`
    (the previous window's end, so that every window adds words); else `last`."""
    halfway = max(first + (last - first) // 2, after) + 1
    for position in range(last - 1, halfway - 1, -1):
        if "\n" in words[position].separator:
            return position
    for position in range(last - 1, halfway - 1, -1):
        if _SENTENCE_END.search(words[position - 1].text):
            return position
    return last


def _overlap_start(words: Sequence[Word], first: int, last: int, overlap_tokens: int) -> int:
    """The earliest word after `first` from which the words up to `last` fit the overlap."""
    position = last
    total = 0
    while position - 1 > first and total + words[position - 1].tokens <= overlap_tokens:
        total += words[position - 1].tokens
        position -= 1
    return position


def _join(words: Sequence[Word]) -> str:
    return words[0].text + "".join(word.separator + word.text for word in words[1:])
