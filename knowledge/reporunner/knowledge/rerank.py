"""Cross-encoder reranking through sentence-transformers, when a model is installed locally.

No cross-encoder ships with reporunner (the bundled model is a bi-encoder), so reranking is
opt-in: point :class:`CrossEncoderReranker` at a local model folder (e.g. a downloaded
``cross-encoder/ms-marco-MiniLM-L-6-v2``) and give it to the :class:`KnowledgeStore`. Without
one, a search that asks for ``rerank`` runs unreranked and says so in its notes.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["CrossEncoderReranker"]

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a local sentence-transformers ``CrossEncoder``.

    The model loads once per process (offline) on first use; scoring runs in a worker thread.
    """

    def __init__(
        self, model_path: str | Path, *, batch_size: int = 32, device: str = "cpu"
    ) -> None:
        self._path = str(Path(model_path))
        self._batch_size = batch_size
        self._device = device

    def _model(self) -> Any:
        with _LOCK:
            model = _MODELS.get(self._path)
            if model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import CrossEncoder

                model = CrossEncoder(self._path, device=self._device, local_files_only=True)
                _MODELS[self._path] = model
            return model

    def _score_sync(self, query: str, passages: list[str]) -> list[float]:
        scores = self._model().predict(
            [(query, p) for p in passages], batch_size=self._batch_size, show_progress_bar=False
        )
        return [float(s) for s in scores]

    async def score(self, query: str, passages: list[str]) -> list[float]:
        """Relevance of each passage to ``query`` (higher is better)."""
        if not passages:
            return []
        return await asyncio.to_thread(self._score_sync, query, passages)
