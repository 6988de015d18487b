"""The node catalog: one JSON document per node type, for ``GET /nodes`` and the copilot.

Each entry carries everything needed to place and configure a node without reading its code:
the params JSON Schema (with every field's description), ports, credential types, mode and an
example. The copilot gives this catalog to the LLM, so descriptions must be precise.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import SecretBytes, SecretStr

from reporunner.nodes.base import Node, Port
from reporunner.nodes.credentials import CREDENTIAL_TYPES, CredentialModel
from reporunner.nodes.registry import NodeRegistry, default_registry

__all__ = ["catalog", "credential_catalog", "credential_schema", "node_schema"]


def _ports(ports: tuple[Port, ...]) -> list[dict[str, str]]:
    return [{"name": p.name, "description": p.description} for p in ports]


def _overrides(node_cls: type[Node[Any]], name: str) -> bool:
    return getattr(node_cls, name).__func__ is not getattr(Node, name).__func__


def node_schema(node_cls: type[Node[Any]]) -> dict[str, Any]:
    """The catalog entry of one node class (JSON-safe).

    ``inputs``/``outputs`` are the ports for the node's ``example`` params; when
    ``dynamic_inputs``/``dynamic_outputs`` is true the ports depend on params (Switch routes,
    Merge inputs) and the engine asks the class for them per node.
    """
    example = dict(node_cls.example)
    return {
        "type": node_cls.type,
        "version": node_cls.version,
        "category": node_cls.category.value,
        "display_name": node_cls.display_name,
        "description": node_cls.description,
        "params": node_cls.Params.model_json_schema(),
        "inputs": _ports(node_cls.input_ports(example)),
        "outputs": _ports(node_cls.output_ports(example)),
        "dynamic_inputs": _overrides(node_cls, "input_ports"),
        "dynamic_outputs": _overrides(node_cls, "output_ports"),
        "credential_types": list(node_cls.credential_types),
        "mode": node_cls.mode,
        "literal_params": sorted(node_cls.literal_params),
        "example": example,
    }


def catalog(
    registry: NodeRegistry | None = None, *, all_versions: bool = False
) -> list[dict[str, Any]]:
    """Catalog entries sorted by type: the latest version of each type, or every version.

    Args:
        registry: Registry to describe (the default registry when None).
        all_versions: Include superseded versions too (for editing old workflows).
    """
    registry = registry or default_registry()
    classes = registry.all() if all_versions else registry.latest()
    return [node_schema(cls) for cls in classes]


def _is_secret(annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_is_secret(arg) for arg in typing.get_args(annotation))


def credential_schema(cred_cls: type[CredentialModel]) -> dict[str, Any]:
    """Catalog entry of one credential type: its fields' JSON Schema and which are secret.

    Secret fields carry ``writeOnly: true`` in the schema: clients may set them but the API
    never returns them.
    """
    secret = [name for name, f in cred_cls.model_fields.items() if _is_secret(f.annotation)]
    return {
        "type": cred_cls.type_name,
        "display_name": cred_cls.display_name,
        "description": (cred_cls.__doc__ or "").strip().splitlines()[0],
        "schema": cred_cls.model_json_schema(),
        "secret_fields": secret,
    }


def credential_catalog() -> list[dict[str, Any]]:
    """Every credential type's entry, sorted by type name (for ``GET /credential-types``)."""
    return [credential_schema(CREDENTIAL_TYPES[name]) for name in sorted(CREDENTIAL_TYPES)]
