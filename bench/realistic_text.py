"""Text with the word statistics of real prose, for search benchmarks at scale.

A small word list repeated makes every term common, which is neither what a full-text index
sees on the web nor what it is good or bad at. Here the vocabulary has tens of thousands of
terms drawn by Zipf's law (the r-th most frequent word has frequency ~ 1/r^1.07): English
function words at the top, then made-up but pronounceable content words, so a few terms are
in nearly every chunk and most are rare. Deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

_FUNCTION_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "been",
    "one",
    "all",
    "we",
    "their",
    "has",
    "would",
    "when",
    "if",
    "so",
    "no",
    "will",
    "more",
    "can",
    "who",
    "its",
    "out",
    "into",
    "about",
    "than",
    "them",
    "some",
    "could",
    "do",
    "what",
    "up",
    "only",
    "other",
    "time",
    "new",
    "these",
]
_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "br",
    "cl",
    "dr",
    "gr",
    "st",
    "tr",
    "pl",
    "sh",
    "ch",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"]
_CODAS = ["", *["n", "r", "s", "t", "l", "m", "nd", "st", "rk", "ng"]]
_EXPONENT = 1.07
_QUESTION_OPENERS = ("how does", "what is", "why do", "where are", "which", "when did")


def vocabulary(size: int) -> list[str]:
    """`size` distinct terms in frequency order, function words first."""
    syllables = [onset + vowel + coda for onset in _ONSETS for vowel in _VOWELS for coda in _CODAS]
    words = list(_FUNCTION_WORDS)
    seen = set(words)
    rng = np.random.default_rng(11)
    while len(words) < size:
        word = "".join(syllables[i] for i in rng.integers(0, len(syllables), int(rng.integers(2, 4))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def _weights(size: int) -> npt.NDArray[np.floating[Any]]:
    weights: npt.NDArray[np.floating[Any]] = 1.0 / np.arange(1, size + 1) ** _EXPONENT
    normalised: npt.NDArray[np.floating[Any]] = weights / weights.sum()
    return normalised


def zipf_texts(
    count: int, *, seed: int, vocabulary_size: int = 30_000, words: tuple[int, int] = (60, 160)
) -> Iterator[str]:
    """`count` chunk texts of `words` words each, sentences of 6 to 24 words."""
    terms = np.array(vocabulary(vocabulary_size))
    rng = np.random.default_rng(seed)
    weights = _weights(vocabulary_size)
    lengths = rng.integers(words[0], words[1] + 1, count)
    drawn = rng.choice(vocabulary_size, size=int(lengths.sum()), p=weights)
    start = 0
    for length in lengths:
        chunk = terms[drawn[start : start + length]]
        start += length
        sentences, at = [], 0
        while at < length:
            size = int(rng.integers(6, 25))
            sentence = " ".join(chunk[at : at + size])
            sentences.append(sentence[:1].upper() + sentence[1:] + ".")
            at += size
        yield " ".join(sentences)


def zipf_queries(count: int, *, seed: int, vocabulary_size: int = 30_000) -> list[str]:
    """What users type: 2 to 6 words, content words mostly from the middle of the frequency
    range (rare words are rarely asked for, function words are no subject), some as a
    question."""
    terms = vocabulary(vocabulary_size)
    rng = np.random.default_rng(seed)
    low, high = np.log(len(_FUNCTION_WORDS) + 20), np.log(vocabulary_size * 2 // 3)
    queries = []
    for _ in range(count):
        ranks = {int(np.exp(rng.uniform(low, high))) for _ in range(int(rng.integers(2, 7)))}
        words = [terms[rank] for rank in sorted(ranks, key=lambda _: rng.random())]
        if rng.random() < 0.3:
            words = [str(rng.choice(_QUESTION_OPENERS)), *words]
        queries.append(" ".join(words))
    return queries
