"""What the model is told: the rules of a definition, a slice of the catalog, and the tools.

The catalog slice is compacted (schema titles dropped, ports reduced to names) because it is
the bulk of every prompt; descriptions stay, they are what the model reasons from. The model
answers through a forced tool call, whose arguments are the structured output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from reporunner.nodes.errors import Problem

__all__ = [
    "CREDENTIAL_PLACEHOLDER",
    "EDIT_TOOL",
    "GENERATE_TOOL",
    "compact_entry",
    "edit_messages",
    "edit_tool",
    "generate_messages",
    "generate_tool",
    "problems_feedback",
    "render_catalog",
    "tool_choice",
]

CREDENTIAL_PLACEHOLDER = "<to supply>"
"""Value of every credential binding the copilot writes: the user binds a real credential."""

GENERATE_TOOL = "submit_workflow"
EDIT_TOOL = "submit_edit"

RULES = f"""\
A workflow definition is JSON: {{"name", "description", "nodes": [{{"id", "type", "version",
"params", "credentials"}}], "edges": [{{"source", "target", "source_port", "target_port"}}]}}.
Rules:
- Use only node types from the catalog below, with their version; params must match the
  node's params JSON Schema (required fields set, no unknown fields). The example shows
  valid params.
- Node ids are short snake_case words (letters, digits, underscores) and unique.
- Exactly one path starts at a trigger node (category "trigger"); every other node must be
  reachable from it through edges.
- An edge goes from an output port of its source ("main" unless the node lists other
  outputs, e.g. logic.if has "true"/"false") to an input port of its target ("main" unless
  listed otherwise, e.g. logic.merge has "input_1", "input_2"...). Every edge must name
  existing node ids.
- A cycle must pass through a "logic.loop" node.
- Param strings may hold expressions: {{{{ nodes.<id>.output.<field> }}}} (first item of an
  earlier node), {{{{ item.<field> }}}} (the current item), {{{{ trigger.<field> }}}},
  {{{{ vars.<name> }}}}. Params listed in "literal_params" must not hold expressions.
- Secrets never go into params. A node that needs one (API key, token, password, SMTP
  server, database DSN, webhook URL credential) binds a credential by type:
  "credentials": {{"<credential type>": "{CREDENTIAL_PLACEHOLDER}"}}; the user supplies it.
  Never invent keys, tokens, passwords or credential ids.
"""


def _strip_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: _strip_titles(v)
            for k, v in schema.items()
            if not (k == "title" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def compact_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a catalog entry the model needs, without schema titles."""
    compact: dict[str, Any] = {
        "type": entry["type"],
        "version": entry.get("version", 1),
        "category": entry.get("category"),
        "description": entry.get("description", ""),
        "params": _strip_titles(entry.get("params", {})),
        "inputs": [p["name"] for p in entry.get("inputs", [])],
        "outputs": [p["name"] for p in entry.get("outputs", [])],
        "example": entry.get("example", {}),
    }
    if entry.get("credential_types"):
        compact["credential_types"] = list(entry["credential_types"])
    if entry.get("literal_params"):
        compact["literal_params"] = list(entry["literal_params"])
    if entry.get("dynamic_outputs") or entry.get("dynamic_inputs"):
        compact["ports_depend_on_params"] = True
    return compact


def render_catalog(entries: Sequence[Mapping[str, Any]]) -> str:
    """The catalog slice as one JSON document per line (compact, easy to scan)."""
    return "\n".join(
        json.dumps(compact_entry(e), separators=(",", ":"), ensure_ascii=False) for e in entries
    )


def _definition_param(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    if schema is not None:
        return {**_strip_titles(dict(schema)), "description": "The complete workflow definition."}
    return {"type": "object", "description": "The complete workflow definition."}


_EXPLANATIONS = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "description": "For every node id: one short sentence saying what the node does here.",
}


def generate_tool(definition_schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The tool whose arguments are a generated workflow."""
    return {
        "type": "function",
        "function": {
            "name": GENERATE_TOOL,
            "description": "Submit the workflow that does what the user described.",
            "parameters": {
                "type": "object",
                "properties": {
                    "definition": _definition_param(definition_schema),
                    "explanations": _EXPLANATIONS,
                    "summary": {
                        "type": "string",
                        "description": "One or two sentences on what the workflow does.",
                    },
                },
                "required": ["definition", "explanations"],
            },
        },
    }


def edit_tool() -> dict[str, Any]:
    """The tool whose arguments are an edit as a JSON Patch."""
    return {
        "type": "function",
        "function": {
            "name": EDIT_TOOL,
            "description": "Submit the change as a JSON Patch (RFC 6902) against the current "
            "definition.",
            "parameters": {
                "type": "object",
                "properties": {
                    "patch": {
                        "type": "array",
                        "description": "RFC 6902 operations ({op, path, value} / {op, from, "
                        "path}) applied in order to the CURRENT definition; '/nodes/-' appends "
                        "a node, '/edges/-' an edge.",
                        "items": {"type": "object"},
                    },
                    "summary": {
                        "type": "string",
                        "description": "A short human-readable summary of the change.",
                    },
                    "explanations": _EXPLANATIONS,
                },
                "required": ["patch", "summary"],
            },
        },
    }


def tool_choice(name: str) -> dict[str, Any]:
    """Force the model to answer with the tool ``name``."""
    return {"type": "function", "function": {"name": name}}


def generate_messages(
    description: str, entries: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """System and user messages asking for a new workflow."""
    system = (
        "You design workflows for reporunner, an automation platform. "
        f"Answer only by calling {GENERATE_TOOL}.\n\n{RULES}\n"
        f"Node catalog (one node type per line):\n{render_catalog(entries)}"
    )
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"Build a workflow that does this:\n{description}"},
    ]


def edit_messages(
    definition: Mapping[str, Any], instruction: str, entries: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """System and user messages asking for a change to ``definition``."""
    system = (
        "You change workflows of reporunner, an automation platform. "
        f"Answer only by calling {EDIT_TOOL} with a JSON Patch against the current "
        "definition; keep what the user did not ask to change, and keep existing credential "
        f"bindings as they are.\n\n{RULES}\nNode catalog (one node type per line):\n"
        f"{render_catalog(entries)}"
    )
    current = json.dumps(definition, indent=1, ensure_ascii=False)
    return [
        {"role": "system", "content": system},
        {
            "role": "user",
            "content": f"Current definition:\n{current}\n\nChange it as follows:\n{instruction}",
        },
    ]


def problems_feedback(problems: Sequence[Problem], tool: str, *, edit: bool) -> str:
    """The message that sends the validator's problems back to the model for a repair round."""
    lines = "\n".join(f"- {p.pointer or '(root)'}: {p.message}" for p in problems)
    again = (
        "a complete patch against the ORIGINAL current definition"
        if edit
        else "the whole corrected definition"
    )
    return (
        f"That answer is not valid; the validator found {len(problems)} problem(s):\n{lines}\n"
        f"Fix every problem and call {tool} again with {again}."
    )
