"""``code.python``: run the user's Python function over the items, in a sandbox."""

from __future__ import annotations

from typing import Any, ClassVar

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._code import CodeParams, run_user_code

__all__ = ["CodePython"]

TYPE = "code.python"


class CodePython(Node[CodeParams]):
    """Python code over all items, isolated from the worker."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Code (Python)"
    description = (
        "Runs Python 3 code the workflow author writes: the code defines main(items, vars), "
        "which receives every input item at once (a list of dicts) and the run's metadata, "
        "and returns the output items (a list of dicts). Use it for transformations the data "
        "nodes cannot express. The code runs in an isolated interpreter with the standard "
        "library only: no network, no files except a scratch directory emptied per call, no "
        "environment variables, no subprocesses, and bounded CPU time, wall time, memory and "
        "output. print() output becomes a log event. Errors name the line of the code."
    )
    Params = CodeParams
    literal_params = frozenset({"code"})
    example: ClassVar[dict[str, Any]] = {
        "code": "def main(items, vars):\n"
        "    return [{**item, 'total': item['price'] * item['quantity']} for item in items]\n"
    }

    async def run(self, ctx: NodeContext, params: CodeParams, inputs: NodeInputs) -> NodeOutput:
        """Call ``main(items, vars)`` in this execution's Python sandbox."""
        return await run_user_code(TYPE, "python", ctx, params, inputs)
