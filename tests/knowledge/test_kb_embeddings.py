"""Embedders: the offline MiniLM and a litellm model through a scripted provider."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import pytest

from reporunner.knowledge.embeddings import (
    LiteLLMEmbedder,
    SentenceTransformerEmbedder,
    embedder_for,
)
from reporunner.knowledge.errors import EmbeddingError


async def test_minilm_is_offline_shared_and_normalised(minilm: SentenceTransformerEmbedder) -> None:
    assert embedder_for("sentence-transformers/all-MiniLM-L6-v2") is minilm
    assert (minilm.dim, minilm.max_tokens) == (384, 254)
    vectors = await minilm.embed(["a red pump", "a crimson pump", "tax law in France"])
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert all(len(v) == 384 for v in vectors)
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4) for v in vectors)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    query = await minilm.embed_query("a red pump")
    assert cos(query, vectors[0]) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(EmbeddingError, match="384"):
        embedder_for("all-MiniLM-L6-v2", 768)


@pytest.fixture
def scripted_provider() -> Iterator[list[list[str]]]:
    """A litellm custom provider answering embeddings from a script (no network)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm
    from litellm.llms.custom_llm import CustomLLM
    from litellm.types.utils import EmbeddingResponse

    calls: list[list[str]] = []

    class Scripted(CustomLLM):
        async def aembedding(self, *args: Any, **kwargs: Any) -> EmbeddingResponse:
            texts = list(kwargs["input"])
            calls.append(texts)
            dim = 3 if kwargs["model"] != "wrong" else 2
            data = [
                {"object": "embedding", "index": i, "embedding": [float(len(t))] * dim}
                for i, t in enumerate(texts)
            ]
            return EmbeddingResponse(model=kwargs["model"], data=data)

    saved = list(litellm.custom_provider_map)
    litellm.custom_provider_map = [*saved, {"provider": "scripted", "custom_handler": Scripted()}]
    litellm._custom_providers = [*litellm._custom_providers, "scripted"]
    yield calls
    litellm.custom_provider_map = saved
    litellm._custom_providers = [p for p in litellm._custom_providers if p != "scripted"]


async def test_litellm_embedder_batches_and_checks_dimensions(
    scripted_provider: list[list[str]],
) -> None:
    embedder = embedder_for("scripted/tiny", 3, batch_size=2)
    assert isinstance(embedder, LiteLLMEmbedder)
    vectors = await embedder.embed(["a", "bb", "ccc"])
    assert vectors == [[1.0] * 3, [2.0] * 3, [3.0] * 3]
    assert scripted_provider == [["a", "bb"], ["ccc"]]
    assert await embedder.embed_query("dddd") == [4.0] * 3
    with pytest.raises(EmbeddingError, match="expects dimension 3"):
        await LiteLLMEmbedder("scripted/wrong", 3).embed(["x"])
    with pytest.raises(EmbeddingError, match="dimension"):
        embedder_for("scripted/tiny")
