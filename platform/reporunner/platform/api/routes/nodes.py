"""``/nodes``: the node catalog (JSON Schema of every node type's params, ports, credentials).

The same catalog the copilot gives the LLM; editors use it to build definitions by hand.
"""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery

from reporunner.nodes.catalog import catalog, node_schema
from reporunner.platform.api.routes.workflows import provide_registry

__all__ = ["route_handlers"]


@get("/nodes", tags=["nodes"], summary="Node catalog")
async def list_nodes(
    state: State,
    all_versions: FromQuery[bool] = False,
    category: FromQuery[str | None] = None,
) -> list[dict[str, Any]]:
    """Every node type (latest version unless ``all_versions``), optionally of one category."""
    entries = catalog(provide_registry(state), all_versions=all_versions)
    return [e for e in entries if category is None or e["category"] == category]


@get("/nodes/{node_type:str}", tags=["nodes"], summary="One node type's schema")
async def get_node(
    state: State, node_type: FromPath[str], version: FromQuery[int | None] = None
) -> dict[str, Any]:
    """The catalog entry of ``node_type`` (latest version, or ``?version=N``); unknown types
    answer 422 with the closest type name."""
    return node_schema(provide_registry(state).get(node_type, version))


route_handlers = [list_nodes, get_node]
