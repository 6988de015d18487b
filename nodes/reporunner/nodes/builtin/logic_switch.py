"""``logic.switch``: routes items to named outputs, one per route, plus ``fallback``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._conditions import Combinator, Condition, matches

__all__ = ["Route", "Switch", "SwitchParams"]

FALLBACK = "fallback"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class Route(BaseModel):
    """One named output and the conditions that send an item there."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=_NAME.pattern,
        description="Output port name (lowercase letters, digits, '_'; not 'fallback').",
    )
    conditions: list[Condition] = Field(
        min_length=1, description="Conditions an item must meet to take this route."
    )
    combinator: Combinator = Field(default="and", description="Combine conditions with and/or.")


class SwitchParams(BaseModel):
    """Params of ``logic.switch``."""

    model_config = ConfigDict(extra="forbid")

    routes: list[Route] = Field(min_length=1, max_length=32, description="Routes, tested in order.")
    match: Literal["first", "all"] = Field(
        default="first",
        description="'first': an item goes to the first matching route only; 'all': to every "
        "matching route.",
    )
    fallback: bool = Field(
        default=True,
        description="If true, items matching no route go out of 'fallback'; if false they are "
        "dropped.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> SwitchParams:
        names = [r.name for r in self.routes]
        if FALLBACK in names:
            raise ValueError("'fallback' is reserved for unmatched items; rename that route")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"route names must be unique; repeated: {', '.join(duplicates)}")
        return self


class Switch(Node[SwitchParams]):
    """Multi-way branch, evaluated per item; its output ports are the route names."""

    type = "logic.switch"
    category = Category.LOGIC
    display_name = "Switch"
    description = (
        "Sends each input item unchanged to the named route(s) whose conditions it meets "
        "(routes are tested in order; 'first' match or 'all' matches). Each route is an output "
        "port named after it; items matching no route go out of 'fallback'."
    )
    Params = SwitchParams
    mode = "each"
    inputs = (Port("main", "Items to route."),)
    outputs = (Port(FALLBACK, "Items that match no route."),)
    example: ClassVar[dict[str, Any]] = {
        "routes": [
            {
                "name": "urgent",
                "conditions": [{"value": "{{ item.priority }}", "operator": "gte", "compare": 8}],
            },
            {
                "name": "billing",
                "conditions": [
                    {
                        "value": "{{ item.subject }}",
                        "operator": "regex",
                        "compare": "invoice|refund",
                        "case_sensitive": False,
                    }
                ],
            },
        ],
        "match": "first",
    }

    @classmethod
    def output_ports(cls, params: Mapping[str, Any]) -> tuple[Port, ...]:
        routes = params.get("routes")
        ports: list[Port] = []
        if isinstance(routes, list):
            for route in routes:
                name = route.get("name") if isinstance(route, Mapping) else None
                if isinstance(name, str) and _NAME.match(name) and name != FALLBACK:
                    ports.append(Port(name, f"Items matching route '{name}'."))
        if params.get("fallback", True) is not False:
            ports.append(Port(FALLBACK, "Items that match no route."))
        return tuple(ports)

    async def run(self, ctx: NodeContext, params: SwitchParams, inputs: NodeInputs) -> NodeOutput:
        ports: dict[str, list[Item]] = {}
        for item in inputs.get("main", []):
            matched = False
            for route in params.routes:
                if matches(route.conditions, route.combinator, item):
                    ports.setdefault(route.name, []).append(item)
                    matched = True
                    if params.match == "first":
                        break
            if not matched and params.fallback:
                ports.setdefault(FALLBACK, []).append(item)
        return NodeOutput(ports)
