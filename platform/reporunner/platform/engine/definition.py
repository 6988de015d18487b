"""The workflow definition: what users save, the API validates and the engine compiles.

The models are the boundary format (JSON, YAML accepted on input), so they forbid unknown keys
and describe every field; the descriptions become the API docs and the copilot's vocabulary.
A definition is immutable once saved: :func:`content_hash` names a version by its content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reporunner.nodes.errors import Problem, ValidationFailed
from reporunner.platform.engine.bounds import check_shape, decode_bounded
from reporunner.platform.engine.testcases import MAX_TEST_CASES, TestCase

__all__ = [
    "EdgeSpec",
    "ErrorPolicy",
    "NodeSpec",
    "Position",
    "WorkflowDefinition",
    "WorkflowSettings",
    "content_hash",
    "parse_definition",
    "pydantic_problems",
]

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorPolicy(_Model):
    """What the engine does when a node raises."""

    on_error: Literal["stop", "continue", "error_port"] = Field(
        "stop",
        description=(
            "'stop' fails the execution; 'continue' sends an error item out of the 'main' port "
            "and goes on; 'error_port' sends it out of the node's 'error' port instead."
        ),
    )
    retries: int = Field(0, ge=0, le=10, description="Extra attempts after a failed one.")
    backoff_seconds: float = Field(
        1.0, ge=0, le=3600, description="Wait before the first retry, in seconds."
    )
    backoff_factor: float = Field(
        2.0, ge=1, le=10, description="Each further retry waits this many times longer."
    )
    timeout_seconds: float | None = Field(
        None,
        gt=0,
        description="Fail an attempt that runs longer than this, in seconds (per item for "
        "nodes that run once per item; no limit if null).",
    )


class Position(_Model):
    """Where the editor draws the node; the engine ignores it."""

    x: float = Field(0, description="Horizontal canvas coordinate.")
    y: float = Field(0, description="Vertical canvas coordinate.")


class NodeSpec(_Model):
    """One node of a workflow."""

    id: str = Field(
        pattern=NODE_ID_PATTERN,
        description=(
            "Unique id within the workflow; expressions reach its output as nodes.<id>, so it "
            "holds letters, digits and underscores only."
        ),
    )
    type: str = Field(min_length=1, description="Registered node type, e.g. 'http.request'.")
    version: int = Field(1, ge=1, description="Node type version the params are written for.")
    name: str | None = Field(None, description="Display name shown in the editor.")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Node parameters; strings may hold {{ expressions }}.",
    )
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="Credential ids bound to this node, by credential type name.",
    )
    position: Position = Field(default_factory=Position, description="Canvas position.")
    error_policy: ErrorPolicy = Field(
        default_factory=ErrorPolicy, description="Retries, timeout and what a failure does."
    )


class EdgeSpec(_Model):
    """A connection from an output port of one node to an input port of another."""

    source: str = Field(description="Id of the node the items come from.")
    target: str = Field(description="Id of the node the items go to.")
    source_port: str = Field("main", description="Output port of the source node.")
    target_port: str = Field("main", description="Input port of the target node.")


class WorkflowSettings(_Model):
    """Execution-wide settings."""

    timeout_seconds: float | None = Field(
        3600, gt=0, description="Fail the execution when it runs longer (no limit if null)."
    )
    vars: dict[str, Any] = Field(
        default_factory=dict, description="Workflow variables, reachable as {{ vars.<name> }}."
    )
    max_loop_iterations: int = Field(
        1000, ge=1, description="How often one node may run in one execution (bounds loops)."
    )
    max_subworkflow_depth: int = Field(
        5, ge=0, description="How deeply sub-workflows may nest below this workflow."
    )
    durability: Literal["auto", "durable", "fast"] = Field(
        "auto",
        description="'durable': every node's result is committed before the next starts (a "
        "killed worker repeats at most the running node); 'fast': one checkpoint at the end (a "
        "killed worker's run starts again from the trigger); 'auto': fast when every node is a "
        "trigger, an in-memory data/logic node or webhook.respond, else durable.",
    )
    require_passing_tests: bool = Field(
        False,
        description="Publishing a version needs a passed run of its test cases "
        "(POST /workflows/{id}/tests/run) when it has any.",
    )


class WorkflowDefinition(_Model):
    """A whole workflow: nodes, the edges between them and settings."""

    name: str = Field(min_length=1, max_length=200, description="Workflow name.")
    description: str = Field("", description="What the workflow is for.")
    nodes: list[NodeSpec] = Field(description="The nodes; at least one must be a trigger.")
    edges: list[EdgeSpec] = Field(default_factory=list, description="Connections between ports.")
    settings: WorkflowSettings = Field(
        default_factory=WorkflowSettings, description="Execution-wide settings."
    )
    tests: list[TestCase] = Field(
        default_factory=list,
        max_length=MAX_TEST_CASES,
        description="Test cases: a trigger input, pinned outputs and assertions "
        "(reporunner test, POST /workflows/{id}/tests/run).",
    )


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in loc)
    return "".join("/" + p for p in parts)


def pydantic_problems(err: ValidationError, prefix: str = "") -> list[Problem]:
    """Turn a pydantic error into problems (pointers under ``prefix``)."""
    problems = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        where = _pointer(loc) or "/"
        problems.append(
            Problem(
                prefix + _pointer(loc),
                "invalid_definition" if not prefix else "invalid_params",
                f"{where}: {e['msg']}",
            )
        )
    return problems


def load_raw(data: str | bytes | Mapping[str, Any]) -> Any:
    """Decode JSON or YAML text (or pass a mapping through) without validating it, within
    the bounds of :mod:`reporunner.platform.engine.bounds` (size, depth, value count, no YAML
    aliases).

    Raises:
        ValidationFailed: the text is neither JSON nor YAML, or passes a bound.
    """
    if isinstance(data, Mapping):
        check_shape(data)
        return data
    return decode_bounded(data)


def parse_definition(data: str | bytes | Mapping[str, Any]) -> WorkflowDefinition:
    """Parse a definition from JSON or YAML text, or from an already decoded mapping.

    This checks the shape only; :func:`reporunner.platform.engine.validate.validate` checks it
    against the node registry.

    Raises:
        ValidationFailed: the text does not parse or the shape is wrong; ``problems`` lists
            every error with a JSON pointer.
    """
    raw = load_raw(data)
    try:
        return WorkflowDefinition.model_validate(raw)
    except ValidationError as err:
        problems = pydantic_problems(err)
        raise ValidationFailed(
            f"the workflow definition has {len(problems)} problem(s); see 'problems'",
            problems,
        ) from err


_LATER_FIELDS: tuple[tuple[str, str, Any], ...] = (
    ("", "tests", []),
    ("settings", "require_passing_tests", False),
)


def content_hash(defn: WorkflowDefinition) -> str:
    """SHA-256 of the canonical JSON form: equal content, equal hash (a version's name).

    Fields added after versions were first stored (``tests``,
    ``settings.require_passing_tests``) are left out while at their defaults, so a version
    saved before they existed keeps its name.
    """
    data = defn.model_dump(mode="json")
    for container, key, default in _LATER_FIELDS:
        holder = data.get(container) if container else data
        if isinstance(holder, dict) and holder.get(key) == default:
            del holder[key]
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
