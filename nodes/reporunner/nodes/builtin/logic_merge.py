"""``logic.merge``: combines the items of several inputs into one stream.

The engine decides *when* Merge fires: after a parallel fan-out it waits for every connected
input; after an If/Switch it fires for the branch that ran (an input that received nothing is
simply empty here). This node only decides *how* to combine what arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._conditions import MISSING, lookup
from reporunner.nodes.errors import NodeError

__all__ = ["Merge", "MergeParams"]

MAX_INPUTS = 10


class MergeParams(BaseModel):
    """Params of ``logic.merge``."""

    model_config = ConfigDict(extra="forbid")

    inputs: int = Field(
        default=2,
        ge=2,
        le=MAX_INPUTS,
        description="Number of input ports, named input_1 ... input_N.",
    )
    mode: Literal["append", "by_key", "by_position"] = Field(
        default="append",
        description="'append': all items of input_1, then input_2, ...; 'by_key': join items "
        "whose 'key' field is equal, merging their fields (later inputs win on conflicts); "
        "'by_position': merge the 1st item of every input, then the 2nd, ...",
    )
    key: str | None = Field(
        default=None,
        description="Dotted path of the join field for mode 'by_key', e.g. 'id' or 'user.id'.",
    )
    join: Literal["inner", "left", "outer"] = Field(
        default="inner",
        description="For by_key: 'inner' keeps keys present in every input, 'left' keeps every "
        "item of input_1, 'outer' keeps every key of any input.",
    )
    include_unpaired: bool = Field(
        default=False,
        description="For by_position: keep the extra items when inputs have different lengths "
        "(otherwise stop at the shortest input).",
    )


def _port_names(count: int) -> list[str]:
    return [f"input_{i}" for i in range(1, count + 1)]


class Merge(Node[MergeParams]):
    """Combines inputs by appending, joining on a key or zipping by position."""

    type = "logic.merge"
    category = Category.LOGIC
    display_name = "Merge"
    description = (
        "Combines the items arriving on input_1..input_N (count set by 'inputs') into one list "
        "on 'main': 'append' concatenates them in input order, 'by_key' joins items with equal "
        "'key' values into one object (inner/left/outer), 'by_position' merges the n-th items "
        "of every input; inputs that received nothing are left out. After a parallel fan-out "
        "it waits for all inputs; after an If or Switch it runs with whichever branch arrived."
    )
    Params = MergeParams
    inputs = tuple(Port(name) for name in _port_names(2))
    outputs = (Port("main", "The combined items."),)
    literal_params = frozenset({"inputs"})
    """The input count shapes the graph, so it must be known before anything runs."""
    example: ClassVar[dict[str, Any]] = {"inputs": 2, "mode": "by_key", "key": "id"}

    @classmethod
    def input_ports(cls, params: Mapping[str, Any]) -> tuple[Port, ...]:
        count = params.get("inputs", 2)
        if not isinstance(count, int) or isinstance(count, bool):
            count = 2
        count = min(max(count, 2), MAX_INPUTS)
        return tuple(
            Port(name, f"Items to merge (input {i})")
            for i, name in enumerate(_port_names(count), start=1)
        )

    async def run(self, ctx: NodeContext, params: MergeParams, inputs: NodeInputs) -> NodeOutput:
        streams = [list(inputs.get(name, [])) for name in _port_names(params.inputs)]
        if params.mode == "append":
            return NodeOutput.main([item for stream in streams for item in stream])
        if params.mode == "by_position":
            return NodeOutput.main(_by_position(streams, params.include_unpaired))
        if not params.key:
            raise NodeError("logic.merge: mode 'by_key' needs 'key', e.g. 'id'")
        return NodeOutput.main(_by_key(streams, params.key, params.join))


def _by_position(streams: list[list[Item]], include_unpaired: bool) -> list[Item]:
    present = [s for s in streams if s]
    if not present:
        return []
    length = max(map(len, present)) if include_unpaired else min(map(len, present))
    merged: list[Item] = []
    for index in range(length):
        item: Item = {}
        for stream in present:
            if index < len(stream):
                item.update(stream[index])
        merged.append(item)
    return merged


def _key_of(item: Item, path: str) -> str | None:
    value = lookup(item, path)
    if value is MISSING or value is None:
        return None
    return repr(value) if not isinstance(value, str) else f"s:{value}"


def _by_key(streams: list[list[Item]], key: str, join: str) -> list[Item]:
    """Join on ``key``: the first item per key and input is used; item order follows the
    first input in which each key appears. Inputs that received no items are left out (so a
    Merge after an If joins only the branch that ran); items without the key are dropped."""
    present = [s for s in streams if s]
    table: dict[str, list[Item | None]] = {}
    for position, stream in enumerate(present):
        for item in stream:
            k = _key_of(item, key)
            if k is None:
                continue
            row = table.setdefault(k, [None] * len(present))
            if row[position] is None:
                row[position] = item
    merged: list[Item] = []
    for row in table.values():
        if join == "inner" and any(part is None for part in row):
            continue
        if join == "left" and row[0] is None:
            continue
        joined: Item = {}
        for part in row:
            if part is not None:
                joined.update(part)
        merged.append(joined)
    return merged
