"""Hybrid fusion counts documents: a document's further chunks take no rank slot of their own."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from reporunner.knowledge._search import RRF_K
from reporunner.knowledge.models import SearchHit, SearchRequest
from reporunner.knowledge.pipeline import add_and_ingest
from reporunner.knowledge.store import KnowledgeStore

QUERY = "hydraulic pump priming"
PUMP_PARAGRAPHS = [
    "Hydraulic pump priming: before the first start, prime the hydraulic pump by filling "
    "the pump casing with oil. Hydraulic pump priming removes trapped air from the pump.",
    "Hydraulic pump priming again after maintenance: a hydraulic pump that ran dry needs "
    "priming, so open the bleed screw and prime the pump until oil flows without bubbles.",
]
OTHERS = {
    "valves.txt": "Relief valves protect the hydraulic pump circuit from pressure spikes.",
    "garden.txt": "Tomatoes grow best in full sun with regular watering and rich compost.",
    "history.txt": "The printing press spread books across Europe in the fifteenth century.",
}


def _document_ranks(leg: list[SearchHit]) -> dict[uuid.UUID, int]:
    """Each chunk's rank in a leg counted in documents: how many documents the leg has
    reached at that chunk (a document's later chunks take no slot)."""
    seen: set[uuid.UUID] = set()
    ranks = {}
    for hit in leg:
        seen.add(hit.document_id)
        ranks[hit.chunk_id] = len(seen)
    return ranks


async def test_two_chunks_of_one_document_do_not_push_a_third_document_down(
    kb_store: KnowledgeStore, minilm: Any
) -> None:
    ws = uuid.uuid4()
    base = await kb_store.create_base(
        ws,
        f"kb-{uuid.uuid4().hex[:6]}",
        embedding_model="all-MiniLM-L6-v2",
        embedding_dim=384,
        chunk_size=40,
        chunk_overlap=0,
    )
    pumps = await add_and_ingest(
        kb_store, ws, base.id, "pumps.txt", "\n\n".join(PUMP_PARAGRAPHS).encode(), minilm
    )
    assert (pumps.status, pumps.chunks_total) == ("ready", 2)
    for name, body in OTHERS.items():
        result = await add_and_ingest(kb_store, ws, base.id, name, body.encode(), minilm)
        assert result.status == "ready"

    legs = {
        mode: list(
            (
                await kb_store.search(
                    ws, base.id, SearchRequest(query=QUERY, mode=mode, top_k=50), minilm
                )
            ).hits
        )
        for mode in ("vector", "keyword")
    }
    keyword = legs["keyword"]
    # Both chunks of pumps.txt lead the keyword leg; valves.txt is third by position.
    assert [h.document_name for h in keyword[:3]] == ["pumps.txt", "pumps.txt", "valves.txt"]

    found = await kb_store.search(
        ws, base.id, SearchRequest(query=QUERY, mode="hybrid", top_k=10), minilm
    )
    hits = list(found.hits)
    assert {h.chunk_id for h in hits} == {h.chunk_id for leg in legs.values() for h in leg}
    doc_ranks = {mode: _document_ranks(leg) for mode, leg in legs.items()}
    for hit in hits:
        expected = sum(
            1.0 / (RRF_K + ranks[hit.chunk_id])
            for ranks in doc_ranks.values()
            if hit.chunk_id in ranks
        )
        assert hit.score == pytest.approx(expected), hit.document_name
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    valves = next(h for h in hits if h.document_name == "valves.txt")
    assert valves.ranks["keyword"] == 3  # reported ranks stay positions among chunks
    # ...but fusion counts it as the second document of the keyword leg, not the third.
    vector_part = 1.0 / (RRF_K + doc_ranks["vector"][valves.chunk_id])
    assert valves.score == pytest.approx(vector_part + 1.0 / (RRF_K + 2))
    assert valves.score > vector_part + 1.0 / (RRF_K + 3)
