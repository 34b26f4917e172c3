"""The OpenAI-compatible client against a real local HTTP server speaking /v1/embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from services.extractor.embeddings import EmbeddingError, OpenAIEmbedder
from tests.fixtures.extractor.embedding_server import DIMENSION, serving, vector_for


async def test_batches_in_order_unit_length_with_auth_and_dimension() -> None:
    async with serving() as server:
        client = OpenAIEmbedder(
            server.url, "bge-small", api_key="sk-test", batch_size=2, initial_backoff=0.01
        )
        texts = ["alpha", "beta", "gamma", "delta", "epsilon"]
        vectors = await client.embed(texts)
        await client.aclose()
    assert len(server.requests) == 3  # 2 + 2 + 1
    assert server.requests[0]["authorization"] == "Bearer sk-test"
    assert server.requests[0]["body"] == {
        "model": "bge-small",
        "input": ["alpha", "beta"],
        "encoding_format": "float",
    }
    assert client.dimension == DIMENSION
    for text, vector in zip(texts, vectors, strict=True):
        expected = np.array(vector_for(text))
        assert np.allclose(vector, expected / np.linalg.norm(expected))


async def test_transient_failures_are_retried_and_permanent_ones_are_not() -> None:
    async with serving() as server:
        client = OpenAIEmbedder(server.url + "/v1", "m", max_attempts=4, initial_backoff=0.01)
        server.faults = [503, 429, 500]
        assert len(await client.embed(["x"])) == 1
        assert len(server.requests) == 4

        server.faults = [400]
        with pytest.raises(EmbeddingError, match="refused: 400"):
            await client.embed(["y"])
        assert len(server.requests) == 5

        server.faults = [503] * 4
        with pytest.raises(EmbeddingError, match="after 4 attempts"):
            await client.embed(["z"])
        await client.aclose()


async def test_an_unreachable_server_is_an_embedding_error() -> None:
    async with serving() as server:
        url = server.url
    client = OpenAIEmbedder(url, "m", max_attempts=2, initial_backoff=0.01, timeout=2)
    with pytest.raises(EmbeddingError, match="after 2 attempts"):
        await client.embed(["x"])
    await client.aclose()
