"""knowledge.search and knowledge.ingest through the engine's ``knowledge`` service."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import reporunner.knowledge as knowledge
from reporunner.knowledge.nodes import KnowledgeIngest, KnowledgeSearch
from reporunner.knowledge.service import KnowledgeService, StoreKnowledgeService
from reporunner.knowledge.store import KnowledgeStore
from reporunner.nodes.errors import NodeError
from reporunner.nodes.registry import NodeRegistry, node_classes_in
from reporunner.nodes.testing import NodeTestContext, run_node


def test_public_surface_imports_every_name() -> None:
    assert knowledge.__all__ == sorted(knowledge.__all__, key=lambda n: (not n.isupper(), n))
    for name in knowledge.__all__:
        assert getattr(knowledge, name) is not None


def test_nodes_module_registers_both_nodes() -> None:
    import reporunner.knowledge.nodes as module

    registry = NodeRegistry()
    for node_cls in node_classes_in(module):
        registry.register(node_cls)
    assert [n.type for n in registry.latest()] == ["knowledge.ingest", "knowledge.search"]


async def test_ingest_then_search_nodes(
    kb_store: KnowledgeStore, minilm: Any, docx_factory: Callable[[list[tuple[str, str]]], bytes]
) -> None:
    service = StoreKnowledgeService(kb_store)
    assert isinstance(service, KnowledgeService)
    ctx = NodeTestContext(workspace_id=str(uuid.uuid4()), services={"knowledge": service})
    docx = docx_factory(
        [("h1", "Policies"), ("h2", "Remote work"), ("p", "Staff may work from home on Fridays.")]
    )
    out = await run_node(
        KnowledgeIngest,
        {
            "knowledge_base": "handbook",
            "name": "policies.docx",
            "content_base64": base64.b64encode(docx).decode(),
            "metadata": {"team": "hr"},
            "create": True,
        },
        ctx=ctx,
    )
    assert out.ports["main"][0]["status"] == "ready"
    out = await run_node(
        KnowledgeIngest,
        {
            "knowledge_base": "handbook",
            "name": "bad.bin",
            "content_base64": base64.b64encode(b"\x00\x01\x02" * 50).decode(),
        },
        ctx=ctx,
    )
    assert "supported" in out.ports["error"][0]["error"]

    params = {
        "knowledge_base": "handbook",
        "query": "can I work from home?",
        "filters": {"team": "hr"},
    }
    out = await run_node(KnowledgeSearch, params, inputs={"main": [{}, {}]}, ctx=ctx)
    assert len(out.ports["main"]) == 2  # one search per item
    result = out.ports["main"][0]
    top = result["results"][0]
    assert top["document_name"] == "policies.docx"
    assert top["heading_path"] == ["Policies", "Remote work"]
    assert result["context"].startswith("[1] (policies.docx, Policies > Remote work)")

    with pytest.raises(NodeError, match="does not exist"):
        await run_node(KnowledgeSearch, {"knowledge_base": "nope", "query": "x"}, ctx=ctx)
    with pytest.raises(NodeError, match="exactly one"):
        await run_node(KnowledgeIngest, {"knowledge_base": "handbook", "name": "x"}, ctx=ctx)
