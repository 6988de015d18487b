"""Every data node turns odd user data into a NodeError (or a result), never a bare exception.

Also checks that the registry discovers all data nodes and that their modules' ``__all__`` lists
import.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from reporunner.nodes.base import Node
from reporunner.nodes.credentials import HmacSecretCredential
from reporunner.nodes.errors import ReporunnerError
from reporunner.nodes.expressions import render
from reporunner.nodes.registry import NodeRegistry, load_builtins
from reporunner.nodes.testing import NodeTestContext, run_node

DATA_TYPES = {
    "data.set": "data_set",
    "data.rename_keys": "data_rename_keys",
    "data.split_out": "data_split_out",
    "data.aggregate": "data_aggregate",
    "data.sort": "data_sort",
    "data.limit": "data_limit",
    "data.dedupe": "data_dedupe",
    "data.datetime": "data_datetime",
    "data.json": "data_json",
    "data.csv": "data_csv",
    "data.xml": "data_xml",
    "data.crypto": "data_crypto",
    "data.template": "data_template",
}
REGISTRY = load_builtins(NodeRegistry())
DATA_NODES = [REGISTRY.get(type_) for type_ in sorted(DATA_TYPES)]

ODD_INPUTS: list[list[dict[str, Any]]] = [
    [],
    [{}],
    [{"body": None, "email": None, "created_at": None, "priority": None}],
    [{"body": 5, "email": ["a"], "id": {"x": 1}, "created_at": True, "name": [1, {"a": 2}]}],
    [{"body": "<<<{,,\n\x00", "created_at": "not a date", "priority": float("nan")}],
    [{"body": {"orders": "x", "customer_id": None}, "user_id": [1], "mail": {"deep": [1]}}],
    [{"body": {"orders": [1, None, [2], {"k": "v"}]}}, {"body": {"orders": []}}],
    [{"priority": 1, "name": "b"}, {"priority": "1", "name": None}, {"priority": True}],
]


def _id(node_cls: type[Node[Any]]) -> str:
    return node_cls.type


def test_registry_discovers_every_data_node() -> None:
    types = {node_cls.type for node_cls in REGISTRY.latest()}
    assert set(DATA_TYPES) <= types


@pytest.mark.parametrize("module", sorted(DATA_TYPES.values()))
def test_module_all_imports(module: str) -> None:
    loaded = importlib.import_module(f"reporunner.nodes.builtin.{module}")
    assert loaded.__all__
    for name in loaded.__all__:
        assert getattr(loaded, name) is not None, name


async def _run_as_engine(node_cls: type[Node[Any]], items: list[dict[str, Any]]) -> None:
    """Render the example against each item (or the first, for 'all' nodes), then run."""
    ctx = NodeTestContext(credentials={"hmac_secret": HmacSecretCredential(secret=SecretStr("k"))})
    batches = [[item] for item in items] if node_cls.mode == "each" else [items]
    for batch in batches or [[]]:
        context = {"nodes": {}, "trigger": {}, "item": batch[0] if batch else None, "vars": {}}
        params = render(dict(node_cls.example), context)
        out = await run_node(node_cls, params, {"main": batch}, ctx)
        assert all(isinstance(item, dict) for port in out.ports.values() for item in port)


@pytest.mark.parametrize("node_cls", DATA_NODES, ids=_id)
@pytest.mark.parametrize("items", ODD_INPUTS)
async def test_odd_items_give_results_or_clear_errors(
    node_cls: type[Node[Any]], items: list[dict[str, Any]]
) -> None:
    problem: str | None = None
    try:
        await _run_as_engine(node_cls, items)
    except ReporunnerError as err:  # NodeError from the node, ExpressionError from rendering
        problem = err.detail
    except ValidationError as err:  # rendered params that fail the schema: the engine reports
        problem = str(err)
    assert problem is None or problem.strip(), "errors must say what went wrong"
