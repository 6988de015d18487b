"""What ``code.python`` and ``code.javascript`` share: params, ``vars`` and the call."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Item, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.codesandbox import CodeSandboxError, Language, run_code

__all__ = ["MAX_CODE_CHARS", "CodeParams", "run_user_code", "run_vars"]

MAX_CODE_CHARS = 100_000
_MAX_LOG_EVENT_CHARS = 8_000


class CodeParams(BaseModel):
    """Params of the code nodes."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=1,
        max_length=MAX_CODE_CHARS,
        description="Source that defines main(items, vars). 'items' is the list of input items "
        "(JSON objects); 'vars' holds the run's metadata: execution_id, workspace_id, node_id, "
        "trigger (the item that started the run) and vars (the workflow variables). main "
        "returns the output items: a list of objects (a single object is one item). The code "
        "is never rendered as an expression, so it must not contain '{{'.",
    )


def run_vars(ctx: NodeContext) -> dict[str, Any]:
    """The ``vars`` argument: the run's metadata (JSON-safe)."""
    return {
        "execution_id": str(ctx.execution_id),
        "workspace_id": str(ctx.workspace_id),
        "node_id": ctx.node_id,
        "trigger": dict(ctx.trigger),
        "vars": dict(ctx.vars),
    }


async def run_user_code(
    node_type: str, language: Language, ctx: NodeContext, params: CodeParams, inputs: NodeInputs
) -> NodeOutput:
    """Run the user's ``main`` in a sandbox leased to this execution and send its items."""
    items: list[Item] = list(inputs.get("main") or [])
    tenant = f"{ctx.workspace_id}/{ctx.execution_id}"
    try:
        result = await run_code(language, params.code, items, run_vars(ctx), tenant=tenant)
    except CodeSandboxError as err:
        if err.logs:
            await ctx.emit("log", {"node": ctx.node_id, "text": err.logs[:_MAX_LOG_EVENT_CHARS]})
        raise CodeSandboxError(f"{node_type}: {err.detail}", line=err.line, logs=err.logs) from None
    if result.logs:
        await ctx.emit("log", {"node": ctx.node_id, "text": result.logs[:_MAX_LOG_EVENT_CHARS]})
    return NodeOutput.main(result.items)
