"""``code.javascript``: run the user's JavaScript function over the items, in a sandbox."""

from __future__ import annotations

from typing import Any, ClassVar

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._code import CodeParams, run_user_code

__all__ = ["CodeJavaScript"]

TYPE = "code.javascript"


class CodeJavaScript(Node[CodeParams]):
    """JavaScript code over all items, isolated from the worker."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Code (JavaScript)"
    description = (
        "Runs JavaScript code the workflow author writes: the code defines function "
        "main(items, vars) (it may be async), which receives every input item at once (an "
        "array of objects) and the run's metadata, and returns the output items (an array of "
        "objects). Use it for transformations the data nodes cannot express. The code runs in "
        "an isolated interpreter with the language built-ins only (no require, no process): no "
        "network, no files, no environment variables, no subprocesses, and bounded CPU time, "
        "wall time, memory and output. console.log() output becomes a log event. Errors name "
        "the line of the code."
    )
    Params = CodeParams
    literal_params = frozenset({"code"})
    example: ClassVar[dict[str, Any]] = {
        "code": "function main(items, vars) {\n"
        "  return items.map((item) => ({ ...item, total: item.price * item.quantity }));\n"
        "}\n"
    }

    async def run(self, ctx: NodeContext, params: CodeParams, inputs: NodeInputs) -> NodeOutput:
        """Call ``main(items, vars)`` in this execution's JavaScript sandbox."""
        return await run_user_code(TYPE, "javascript", ctx, params, inputs)
