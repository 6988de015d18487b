"""``data.rename_keys``: rename (or move) fields of every item."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import (
    MISSING,
    DottedPath,
    copy_item,
    fail,
    pop_path,
    set_path,
)

__all__ = ["KeyRename", "RenameKeys", "RenameKeysParams"]

TYPE = "data.rename_keys"


class KeyRename(BaseModel):
    """One rename: the value at ``from_key`` moves to ``to_key``."""

    model_config = ConfigDict(extra="forbid")

    from_key: DottedPath = Field(description="Dotted path of the field to rename, e.g. 'user_id'.")
    to_key: DottedPath = Field(
        description="Dotted path it moves to, e.g. 'user.id' (objects on the way are created; an "
        "existing value there is overwritten)."
    )


class RenameKeysParams(BaseModel):
    """Params of ``data.rename_keys``."""

    model_config = ConfigDict(extra="forbid")

    renames: list[KeyRename] = Field(
        min_length=1, description="Renames, applied in order to every item."
    )
    require: bool = Field(
        default=False,
        description="If true, an item lacking a 'from_key' fails the node; if false, that "
        "rename is skipped for that item.",
    )


class RenameKeys(Node[RenameKeysParams]):
    """Rename or move fields of every item."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Rename Keys"
    description = (
        "Renames fields of every input item: each rename moves the value at 'from_key' to "
        "'to_key' (both dotted paths, so it can also move a field into or out of a nested object) "
        "and removes the old key. Items lacking a 'from_key' pass unchanged unless 'require' is "
        "true. Outputs one item per input item, in order."
    )
    Params = RenameKeysParams
    example: ClassVar[dict[str, Any]] = {
        "renames": [
            {"from_key": "user_id", "to_key": "user.id"},
            {"from_key": "mail", "to_key": "email"},
        ],
        "require": False,
    }

    async def run(
        self, ctx: NodeContext, params: RenameKeysParams, inputs: NodeInputs
    ) -> NodeOutput:
        """Apply every rename to a copy of every item."""
        out: list[Item] = []
        for index, item in enumerate(inputs.get("main", [])):
            result = copy_item(item)
            for rename in params.renames:
                value = pop_path(result, rename.from_key)
                if value is MISSING:
                    if params.require:
                        raise fail(
                            TYPE,
                            f"item {index} has no field '{rename.from_key}'; fix the rename or "
                            "set 'require' to false to skip items without it",
                        )
                    continue
                try:
                    set_path(result, rename.to_key, value)
                except ValueError as err:
                    raise fail(TYPE, f"item {index}: to_key '{rename.to_key}': {err}") from err
            out.append(result)
        return NodeOutput.main(out)
