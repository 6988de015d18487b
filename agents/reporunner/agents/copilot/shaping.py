"""What the copilot does to a model's definition besides validating it.

Credential bindings are reset to a placeholder (a model can only invent ids or secrets), with
the bindings the user already made kept on edits; literal secrets in params are refused; the
nodes the model did not place are laid out left to right; every node gets an explanation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reporunner.agents.copilot.prompt import CREDENTIAL_PLACEHOLDER
from reporunner.nodes.errors import Problem

__all__ = [
    "MissingCredential",
    "NodeExplanation",
    "explanations_for",
    "layout",
    "missing_credentials",
    "placeholder_credentials",
    "secret_problems",
]

_SECRET_KEY = re.compile(r"(pass(word)?|secret|token|api[_-]?key|private[_-]?key)$", re.I)
_X_STEP = 260.0
_Y_STEP = 140.0


@dataclass(frozen=True, slots=True)
class MissingCredential:
    """A credential the user still has to create and bind.

    Attributes:
        node_id: The node that needs it.
        node_type: That node's type.
        credential_type: The credential type bound (by name) to the node.
    """

    node_id: str
    node_type: str
    credential_type: str

    def as_dict(self) -> dict[str, str]:
        """JSON form."""
        return {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "credential_type": self.credential_type,
        }


@dataclass(frozen=True, slots=True)
class NodeExplanation:
    """What one node of a generated or edited workflow does."""

    node_id: str
    node_type: str
    explanation: str

    def as_dict(self) -> dict[str, str]:
        """JSON form."""
        return {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "explanation": self.explanation,
        }


def _nodes(definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    nodes = definition.get("nodes")
    if isinstance(nodes, list):
        yield from (n for n in nodes if isinstance(n, dict))


def placeholder_credentials(
    definition: dict[str, Any], keep: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Replace every credential binding by :data:`CREDENTIAL_PLACEHOLDER`, in place.

    Args:
        definition: The model's definition (changed in place and returned).
        keep: The definition before an edit: a node's binding of the same type that was
            already there stays as the user made it.
    """
    before: dict[tuple[str, str], Any] = {}
    for node in _nodes(keep or {}):
        creds = node.get("credentials")
        if isinstance(creds, dict):
            before.update({(str(node.get("id")), str(k)): v for k, v in creds.items()})
    for node in _nodes(definition):
        creds = node.get("credentials")
        if isinstance(creds, dict):
            node["credentials"] = {
                str(k): before.get((str(node.get("id")), str(k)), CREDENTIAL_PLACEHOLDER)
                for k in creds
            }
    return definition


def missing_credentials(definition: Mapping[str, Any]) -> list[MissingCredential]:
    """The bindings still holding the placeholder, in node order."""
    found = []
    for node in _nodes(definition):
        for cred_type, value in (node.get("credentials") or {}).items():
            if value == CREDENTIAL_PLACEHOLDER:
                found.append(
                    MissingCredential(str(node.get("id")), str(node.get("type")), cred_type)
                )
    return found


def _secret_values(value: Any, pointer: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            at = f"{pointer}/{key}"
            if (
                _SECRET_KEY.search(str(key))
                and isinstance(inner, str)
                and inner.strip()
                and "{{" not in inner
            ):
                yield at
            else:
                yield from _secret_values(inner, at)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _secret_values(inner, f"{pointer}/{i}")


def secret_problems(definition: Mapping[str, Any]) -> list[Problem]:
    """Params that hold a literal secret (a ``password``/``token``/``api_key`` field)."""
    problems = []
    for i, node in enumerate(_nodes(definition)):
        for pointer in _secret_values(node.get("params") or {}, f"/nodes/{i}/params"):
            problems.append(
                Problem(
                    pointer,
                    "literal_secret",
                    f"node '{node.get('id')}': do not write secrets into params; "
                    "remove the value and bind a credential of the node's credential type "
                    f"with the value '{CREDENTIAL_PLACEHOLDER}'",
                )
            )
    return problems


def _depths(definition: Mapping[str, Any]) -> dict[str, int]:
    ids = [str(n.get("id")) for n in _nodes(definition)]
    edges = [e for e in definition.get("edges") or [] if isinstance(e, dict)]
    incoming = {str(e.get("target")) for e in edges}
    depth = {nid: 0 for nid in ids if nid not in incoming}
    frontier = list(depth)
    while frontier:
        nxt = []
        for edge in edges:
            source, target = str(edge.get("source")), str(edge.get("target"))
            if source in frontier and target in ids and target not in depth:
                depth[target] = depth[source] + 1
                nxt.append(target)
        frontier = nxt
    for nid in ids:
        depth.setdefault(nid, max(depth.values(), default=-1) + 1)
    return depth


def layout(definition: dict[str, Any]) -> dict[str, Any]:
    """Give nodes without a position one, by distance from the start (columns) and order
    (rows); positions the model or the user set are kept. Changes ``definition`` in place."""
    depth = _depths(definition)
    rows: dict[int, int] = {}
    for node in _nodes(definition):
        column = depth.get(str(node.get("id")), 0)
        row = rows.get(column, 0)
        rows[column] = row + 1
        if not isinstance(node.get("position"), dict):
            node["position"] = {"x": column * _X_STEP, "y": row * _Y_STEP}
    return definition


def explanations_for(
    definition: Mapping[str, Any], given: Mapping[str, Any], display: Mapping[str, str]
) -> list[NodeExplanation]:
    """One explanation per node: the model's, else the node type's display name."""
    out = []
    for node in _nodes(definition):
        nid, ntype = str(node.get("id")), str(node.get("type"))
        text = given.get(nid)
        if not isinstance(text, str) or not text.strip():
            text = str(node.get("name") or display.get(ntype) or ntype)
        out.append(NodeExplanation(nid, ntype, text.strip()))
    return out
