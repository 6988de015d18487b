"""The catalog walks EVERY registered node: the copilot and GET /nodes depend on each entry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reporunner.nodes.base import Node
from reporunner.nodes.catalog import catalog, credential_catalog, node_schema
from reporunner.nodes.credentials import CREDENTIAL_TYPES
from reporunner.nodes.registry import NodeRegistry, load_builtins

REGISTRY = load_builtins(NodeRegistry())
ALL_NODES = REGISTRY.all()


def _id(node_cls: type[Node[Any]]) -> str:
    return f"{node_cls.type}@v{node_cls.version}"


def test_catalog_lists_latest_versions_sorted() -> None:
    entries = catalog(REGISTRY)
    types = [e["type"] for e in entries]
    assert types == sorted(set(types))
    assert {"trigger.manual", "logic.noop"} <= set(types)
    assert len(catalog(REGISTRY, all_versions=True)) == len(ALL_NODES)
    json.dumps(entries)


@pytest.mark.parametrize("node_cls", ALL_NODES, ids=_id)
def test_entry_is_complete(node_cls: type[Node[Any]]) -> None:
    entry = node_schema(node_cls)
    json.dumps(entry)
    assert len(entry["description"]) >= 30, "describe what the node does and outputs"
    assert entry["display_name"].strip()
    assert entry["params"]["type"] == "object"
    for name, prop in entry["params"].get("properties", {}).items():
        assert prop.get("description"), f"param '{name}' needs Field(description=...)"
    assert node_cls.Params.model_config.get("extra") == "forbid"


@pytest.mark.parametrize("node_cls", ALL_NODES, ids=_id)
def test_example_validates_against_params(node_cls: type[Node[Any]]) -> None:
    node_cls.Params.model_validate(dict(node_cls.example))
    unknown = set(node_cls.literal_params) - set(node_cls.Params.model_fields)
    assert not unknown, f"literal_params names unknown params: {unknown}"


@pytest.mark.parametrize("node_cls", ALL_NODES, ids=_id)
def test_ports_are_named_and_unique(node_cls: type[Node[Any]]) -> None:
    example = dict(node_cls.example)
    for ports in (node_cls.input_ports(example), node_cls.output_ports(example)):
        names = [p.name for p in ports]
        assert all(n and n.strip() == n for n in names), names
        assert len(names) == len(set(names)), names
    if node_cls.category.value == "trigger":
        assert node_cls.input_ports(example) == ()
    else:
        assert node_cls.input_ports(example), "non-trigger nodes need an input port"


def test_credential_catalog_marks_secret_fields_write_only() -> None:
    entries = credential_catalog()
    assert [e["type"] for e in entries] == sorted(CREDENTIAL_TYPES)
    json.dumps(entries)
    by_type = {e["type"]: e for e in entries}
    assert by_type["basic_auth"]["secret_fields"] == ["password"]
    assert by_type["smtp"]["secret_fields"] == ["password"]
    assert by_type["oauth2_client_credentials"]["secret_fields"] == ["client_secret"]
    for entry in entries:
        assert entry["secret_fields"], entry["type"]
        assert entry["description"]
        props = entry["schema"]["properties"]
        for name in entry["secret_fields"]:
            assert "writeOnly" in json.dumps(props[name]), (entry["type"], name)
        for name, prop in props.items():
            assert prop.get("description"), (entry["type"], name)


def test_node_credential_types_exist() -> None:
    for node_cls in ALL_NODES:
        unknown = set(node_cls.credential_types) - set(CREDENTIAL_TYPES)
        assert not unknown, f"{node_cls.type} names unknown credential types {unknown}"
