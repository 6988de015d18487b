"""Preview the ``{{ expressions }}`` of one node's params with the data of a past run.

The editor sends a node's params as they are in the form; each string holding an expression
is rendered on its own by the engine's sandboxed expression engine
(:func:`reporunner.nodes.expressions.render`, with the same bounds as in a run), against the
context the engine would build for that node from the workflow's latest execution (or the one
named): ``nodes`` (every node's last run there), ``trigger``, ``item`` (the node's first input
item in that run) and ``vars`` (the run's version's ``settings.vars``). A failure (missing data,
a sandbox refusal, a bound) is that line's ``error``; nothing runs, nothing is saved.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes import expressions
from reporunner.nodes.errors import ExpressionError, NotFoundError, Problem, ValidationFailed
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.db.models import Execution, NodeRun, WorkflowVersion
from reporunner.platform.workflows.service import get_workflow

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPRESSIONS",
    "PREVIEW_SECONDS",
    "PreviewIn",
    "PreviewOut",
    "PreviewValue",
    "preview_params",
]

MAX_EXPRESSIONS = 200
"""More expression strings than this in one request are refused (422 on ``/params``)."""
MAX_DEPTH = 64
"""Params nested deeper than this (lists and objects inside each other) are refused (422 on
``/params``): a node's params are a form's values, and the walk stays well inside the stack."""
PREVIEW_SECONDS = 2.0
"""Render time one preview may use in all (a run's render of a node's params has the same
budget); lines after it is used up are answered with an error instead of being rendered."""


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node_id: str = Field(
        min_length=1, max_length=200, description="The node whose params these are."
    )
    type: str | None = Field(
        default=None, max_length=200,
        description="The node's type; its literal params (never rendered) are skipped.",
    )  # fmt: skip
    params: dict[str, Any] = Field(description="The node's params as the form holds them.")
    execution_id: uuid.UUID | None = Field(
        default=None,
        description="Preview with this execution's data (default: the workflow's latest).",
    )


class PreviewValue(BaseModel):
    pointer: str = Field(description="JSON pointer of the string inside the params.")
    expression: str = Field(description="The string as written.")
    value: Any = Field(default=None, description="What it renders to (JSON), unless error.")
    error: str | None = Field(default=None, description="Why it does not render, if it fails.")


class PreviewOut(BaseModel):
    execution_id: uuid.UUID | None = Field(
        description="The execution whose data was used (null: the workflow has not run yet)."
    )
    values: list[PreviewValue] = Field(description="One entry per string with an expression.")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _strings(value: Any, pointer: str, depth: int = 1) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if "{{" in value:
            yield pointer, value
        return
    if isinstance(value, Mapping | list) and depth > MAX_DEPTH:
        raise ValidationFailed(
            f"params: nested more than {MAX_DEPTH} levels deep (at {pointer[:200]}); "
            "a node's params are a form's values",
            [Problem("/params", "too_deep", f"at most {MAX_DEPTH} levels")],
        )
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, f"{pointer}/{_escape(str(k))}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{pointer}/{i}", depth + 1)


async def _execution(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID, wanted: uuid.UUID | None
) -> Execution | None:
    query = select(Execution).where(
        Execution.workspace_id == workspace_id, Execution.workflow_id == workflow_id
    )
    if wanted is not None:
        row = await session.scalar(query.where(Execution.id == wanted))
        if row is None:
            raise NotFoundError(
                f"execution_id: execution {wanted} is not a run of workflow {workflow_id}"
            )
        return row
    latest = query.order_by(Execution.created_at.desc(), Execution.id.desc()).limit(1)
    return await session.scalar(latest)


def _first_main(ports: Mapping[str, Any] | None) -> Any:
    main = (ports or {}).get("main")
    return main[0] if isinstance(main, list) and main else None


async def _context(session: AsyncSession, row: Execution | None, node_id: str) -> dict[str, Any]:
    if row is None:
        return {"nodes": {}, "trigger": {}, "item": None, "vars": {}}
    runs = await session.scalars(
        select(NodeRun)
        .where(NodeRun.execution_id == row.id, NodeRun.workspace_id == row.workspace_id)
        .order_by(NodeRun.started_at, NodeRun.id)
    )
    nodes: dict[str, Any] = {}
    item = None
    for run in runs:  # the last run of each node wins, as in the engine's state
        ports = run.output or {}
        main = ports.get("main")
        items = main if isinstance(main, list) else []
        nodes[run.node_id] = {"output": items[0] if items else {}, "items": items, "ports": ports}
        if run.node_id == node_id:
            item = _first_main(run.input)
    definition = await session.scalar(
        select(WorkflowVersion.definition).where(WorkflowVersion.id == row.version_id)
    )
    settings = (definition or {}).get("settings") or {}
    variables = settings.get("vars") if isinstance(settings, dict) else None
    return {
        "nodes": nodes,
        "trigger": dict(row.trigger or {}),
        "item": item,
        "vars": variables if isinstance(variables, dict) else {},
    }


def _render_each(strings: list[tuple[str, str]], context: dict[str, Any]) -> list[PreviewValue]:
    out = []
    deadline = time.monotonic() + PREVIEW_SECONDS
    for pointer, source in strings:
        left = deadline - time.monotonic()
        if left <= 0:
            why = f"not rendered: this preview used its {PREVIEW_SECONDS:g} s of render time"
            out.append(PreviewValue(pointer=pointer, expression=source, error=why))
            continue
        try:
            value = expressions.render(
                source, context, limits=expressions.RenderLimits(max_seconds=left)
            )
        except ExpressionError as err:
            out.append(PreviewValue(pointer=pointer, expression=source, error=err.detail))
        else:
            out.append(PreviewValue(pointer=pointer, expression=source, value=value))
    return out


async def preview_params(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    body: PreviewIn,
    registry: NodeRegistry,
) -> PreviewOut:
    """Render each expression of ``body.params`` with a past run's data (see the module).

    Raises:
        NotFoundError: the workflow, or the named execution of it, is not in the workspace.
        ValidationFailed: more than :data:`MAX_EXPRESSIONS` expression strings.
    """
    await get_workflow(session, workspace_id, workflow_id)
    literal: frozenset[str] = frozenset()
    if body.type is not None and body.type in registry:
        literal = registry.get(body.type).literal_params
    strings = [
        found
        for key, value in body.params.items()
        if key not in literal
        for found in _strings(value, f"/{_escape(key)}")
    ]
    if len(strings) > MAX_EXPRESSIONS:
        raise ValidationFailed(
            f"params: {len(strings)} expressions, more than the {MAX_EXPRESSIONS} one preview "
            "renders; preview fewer at a time",
            [Problem("/params", "too_many_expressions", f"at most {MAX_EXPRESSIONS}")],
        )
    row = await _execution(session, workspace_id, workflow_id, body.execution_id)
    context = await _context(session, row, body.node_id)
    if row is None:
        why = "the workflow has not run yet; run it once to preview expressions with its data"
        values = [PreviewValue(pointer=p, expression=s, error=why) for p, s in strings]
        return PreviewOut(execution_id=None, values=values)
    values = await asyncio.to_thread(_render_each, strings, context)
    return PreviewOut(execution_id=row.id, values=values)
