"""``data.template``: put a text made from a template into each item.

The node does no templating itself. Like every string param, ``template`` is rendered by the
engine's sandboxed expression engine (:mod:`reporunner.nodes.expressions`) against the current
item before the node runs, so ``Hello {{ item.name }}`` reaches :meth:`TextTemplate.run` as
``Hello Ann``. Keeping one renderer means one sandbox, one set of limits and one error format for
the whole platform. A template that is exactly one expression renders to that expression's native
value (a number, an object...); the node writes such values as text (JSON for objects and
arrays) because its output is documented as text.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import DottedPath, copy_item, fail, set_path

__all__ = ["TextTemplate", "TextTemplateParams", "as_text"]

TYPE = "data.template"


class TextTemplateParams(BaseModel):
    """Params of ``data.template``."""

    model_config = ConfigDict(extra="forbid")

    template: Any = Field(
        description="The text, with {{ ... }} expressions (e.g. 'Hello {{ item.name }}, your "
        "order {{ item.id }} shipped.'). The engine renders it against each item before the "
        "node runs; filters ('{{ item.tags | join(', ') }}') and inline ifs ('{{ a if cond else "
        "b }}') work, {% ... %} statements do not."
    )
    destination: DottedPath = Field(
        default="text", description="Dotted path of the field that receives the text."
    )
    keep_fields: bool = Field(
        default=True,
        description="If true, the item's other fields are kept; if false, the output item holds "
        "only the text.",
    )


def as_text(value: Any) -> str:
    """The rendered template as text: strings as-is, null as '', objects and arrays as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class TextTemplate(Node[TextTemplateParams]):
    """Write a rendered text template into each item."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Text Template"
    description = (
        "Outputs, for each input item, the text of 'template' in the field 'destination' "
        "(default 'text'), keeping the item's other fields unless 'keep_fields' is false. The "
        "engine renders the {{ ... }} expressions in 'template' against that item before the "
        "node runs (e.g. 'Hi {{ item.name }}' becomes 'Hi Ann'), so use it to build messages, "
        "prompts, e-mail bodies or file contents. Non-text results are written as text (objects "
        "and arrays as JSON)."
    )
    Params = TextTemplateParams
    mode = "each"
    example: ClassVar[dict[str, Any]] = {
        "template": "Hello {{ item.name }}, your order {{ item.order_id }} has shipped.",
        "destination": "message",
    }

    async def run(
        self, ctx: NodeContext, params: TextTemplateParams, inputs: NodeInputs
    ) -> NodeOutput:
        """Write the (already rendered) template into each item."""
        text = as_text(params.template)
        out: list[Item] = []
        for item in inputs.get("main") or [{}]:
            result = copy_item(item) if params.keep_fields else {}
            try:
                set_path(result, params.destination, text)
            except ValueError as err:
                raise fail(TYPE, f"destination '{params.destination}': {err}") from err
            out.append(result)
        return NodeOutput.main(out)
