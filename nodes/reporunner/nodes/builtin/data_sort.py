"""``data.sort``: sort items by one or more fields.

Mixed types follow one fixed rule so that sorting never fails on real-world data: within a key,
values rank by type first — booleans (false < true), then numbers, then strings, then arrays and
objects (compared by their compact JSON text) — and then by value. Missing fields and nulls always
come last, whatever the direction, so that incomplete records never crowd the top of a list. The
sort is stable: items with equal keys keep their input order.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import MISSING, DottedPath, get_path, to_json_text
from reporunner.nodes.errors import NodeError

__all__ = ["MAX_SORT_ITEMS", "SortItems", "SortKey", "SortParams", "sort_rank"]

MAX_SORT_ITEMS = 250_000
"""Most items one ``data.sort`` run orders (a sort cannot be interrupted, so its size bounds
its time; expressions allow fewer: ``RenderLimits.max_sort_items``)."""

TYPE = "data.sort"


class SortKey(BaseModel):
    """One sort key."""

    model_config = ConfigDict(extra="forbid")

    field: DottedPath = Field(description="Dotted path of the value to sort by, e.g. 'price'.")
    order: Literal["asc", "desc"] = Field(
        default="asc", description="'asc' for smallest first, 'desc' for largest first."
    )
    case_sensitive: bool = Field(
        default=True,
        description="If false, strings compare ignoring case ('apple' next to 'Apple').",
    )


class SortParams(BaseModel):
    """Params of ``data.sort``."""

    model_config = ConfigDict(extra="forbid")

    keys: list[SortKey] = Field(
        min_length=1,
        description="Sort keys, most significant first; later keys break ties of earlier ones.",
    )


def sort_rank(value: Any, case_sensitive: bool = True) -> tuple[int, Any]:
    """Sort key of one present, non-null value: (type rank, comparable value).

    Type ranks: booleans 0, numbers 1, strings 2, arrays and objects 3 (by JSON text), so values
    of different types never get compared with each other.
    """
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value if case_sensitive else value.casefold())
    return (3, to_json_text(value))


def _sort_by(items: list[Item], key: SortKey) -> list[Item]:
    present: list[tuple[tuple[int, Any], Item]] = []
    absent: list[Item] = []
    for item in items:
        value = get_path(item, key.field)
        if value is MISSING or value is None:
            absent.append(item)
        else:
            present.append((sort_rank(value, key.case_sensitive), item))
    present.sort(key=lambda pair: pair[0], reverse=key.order == "desc")
    return [item for _, item in present] + absent


class SortItems(Node[SortParams]):
    """Sort items by one or more fields."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Sort"
    description = (
        "Outputs the input items sorted by the given keys (most significant first), each "
        "ascending or descending. Stable: equal items keep their input order. Mixed types sort "
        "by type first (booleans, then numbers, then strings, then arrays/objects by JSON text); "
        "missing fields and nulls always sort last. Numbers held as text sort as text, so "
        "convert them with data.set first when needed. At most 250,000 items."
    )
    Params = SortParams
    example: ClassVar[dict[str, Any]] = {
        "keys": [{"field": "priority", "order": "desc"}, {"field": "name", "case_sensitive": False}]
    }

    async def run(self, ctx: NodeContext, params: SortParams, inputs: NodeInputs) -> NodeOutput:
        """Sort with one stable pass per key, least significant key first (off the event loop)."""
        items = list(inputs.get("main", []))
        if len(items) > MAX_SORT_ITEMS:
            raise NodeError(
                f"data.sort was given {len(items):,} items, over the limit of {MAX_SORT_ITEMS:,}; "
                "filter or aggregate the items first, or split them into smaller runs"
            )
        return NodeOutput.main(await asyncio.to_thread(_sort_all, items, params.keys))


def _sort_all(items: list[Item], keys: list[SortKey]) -> list[Item]:
    for key in reversed(keys):
        items = _sort_by(items, key)
    return items
