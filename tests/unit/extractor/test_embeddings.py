"""The local model is real: it loads offline and places paraphrases closer than unrelated text."""

from __future__ import annotations

import numpy as np

from services.extractor.embeddings import LOCAL_DIMENSION, LocalEmbedder, count_tokens


async def test_local_model_embeds_meaning() -> None:
    embedder = LocalEmbedder(batch_size=2)
    vectors = np.array(
        await embedder.embed(
            [
                "How do I reset my password?",
                "Steps to recover a forgotten login password",
                "The volcano erupted and covered the village in ash.",
            ]
        )
    )
    assert vectors.shape == (3, LOCAL_DIMENSION)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > 0.5 > vectors[0] @ vectors[2]


def test_tokens_are_counted_with_the_wordpiece_vocabulary() -> None:
    assert count_tokens(["hello", "unbelievable", "tokenization", "!"]) == [1, 1, 2, 1]
