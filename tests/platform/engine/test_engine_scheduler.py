"""The pure parts under the engine: topology analysis and the data-flow readiness rule."""

from __future__ import annotations

from typing import Any

from engine_testkit import wf

from reporunner.platform.engine.definition import parse_definition
from reporunner.platform.engine.state import apply_box, ready_nodes
from reporunner.platform.engine.topology import (
    Topology,
    build_topology,
    forward_closure,
    strongly_connected,
)


def _topology(nodes: list[str], edges: list[str]) -> Topology:
    return build_topology(parse_definition(wf([{"id": n, "type": "t.set"} for n in nodes], edges)))


def _box(*ports: str) -> dict[str, Any]:
    return {f"d{i}": {"port": p, "items": [{}]} for i, p in enumerate(ports)}


def test_a_join_waits_while_a_waiting_node_can_still_reach_it() -> None:
    topo = _topology(["a", "b", "c", "m"], ["a->m.in1", "b->c", "c->m.in2"])
    assert ready_nodes(topo, {"m": _box("in1"), "c": _box("main")}) == ["c"]
    assert ready_nodes(topo, {"m": _box("in1", "in2")}) == ["m"]


def test_a_join_fires_when_the_other_branch_is_dead() -> None:
    # b never received items (an If sent nothing there): nothing can reach m.in2 any more.
    topo = _topology(["a", "b", "m"], ["a->m.in1", "b->m.in2"])
    assert ready_nodes(topo, {"m": _box("in1")}) == ["m"]


def test_independent_waiting_nodes_are_ready_together() -> None:
    topo = _topology(["a", "b", "x", "y"], ["a->x", "b->y"])
    assert ready_nodes(topo, {"x": _box("main"), "y": _box("main")}) == ["x", "y"]


def test_a_cycle_of_waiting_joins_runs_rather_than_deadlocks() -> None:
    topo = _topology(["p", "q"], ["p->q", "q->p"])
    assert ready_nodes(topo, {"p": _box("main"), "q": _box("main")}) == ["p", "q"]


def test_a_loop_node_is_not_blocked_by_its_own_body() -> None:
    topo = _topology(["u", "loop", "body"], ["u->loop", "loop.loop->body", "body->loop.back"])
    assert ready_nodes(topo, {"loop": _box("main")}) == ["loop"]


def test_apply_box_removes_consumed_deliveries_and_keeps_new_ones() -> None:
    current = {"old": {"port": "main", "items": [1]}}
    change = {"remove": ["old"], "add": {"new": {"port": "main", "items": [2]}}}
    assert apply_box(current, change) == {"new": {"port": "main", "items": [2]}}
    # a sibling's delivery in the same superstep survives the consumer's removal
    sibling = {"add": {"sib": {"port": "main", "items": [3]}}}
    assert apply_box(apply_box(current, sibling), {"remove": ["old"]}) == {
        "sib": {"port": "main", "items": [3]}
    }


def test_strongly_connected_finds_cycles_and_survives_long_chains() -> None:
    successors: dict[str, list[str]] = {f"n{i}": [f"n{i + 1}"] for i in range(5000)}
    successors["n5000"] = []
    assert strongly_connected(successors) == []
    successors["n5000"] = ["n4998"]
    successors["solo"] = ["solo"]
    assert strongly_connected(successors) == [["n4998", "n4999", "n5000"], ["solo"]]


def test_forward_closure_stops_at_the_given_node() -> None:
    successors = {"a": ["b"], "b": ["c"], "c": ["d"]}
    assert forward_closure(successors, ["a"]) == {"a", "b", "c", "d"}
    assert forward_closure(successors, ["a"], stop="b") == {"a", "b"}
