"""Engine overhead: our compiled workflows vs the same graphs written directly in LangGraph.

Both run in this process with the same pooled ``AsyncPostgresSaver`` and ``durability="sync"``,
so the ratio isolates what the engine adds (scheduling, param handling, hooks, output bounds).

Usage::

    python bench/engine_overhead.py [--quick] [--runs N]

Postgres: ``DATABASE_URL`` (libpq or SQLAlchemy URL) or else an embedded server in a temporary
directory. The last line printed is one JSON object with ``"ratio"`` (ours / direct, per node,
over all three workflows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph

from reporunner.nodes.registry import NodeRegistry, load_builtins
from reporunner.platform.engine import (
    NullHooks,
    compile_workflow,
    parse_definition,
    postgres_checkpointer,
    run_execution,
)

FAN_OUT = 4


def _set(node_id: str, value: int) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "data.set",
        "params": {"fields": [{"name": node_id, "value": value, "type": "number"}]},
    }


def linear_definition(n: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "trigger.manual"}]
    for i in range(1, n):
        nodes.append(_set(f"n{i}", i) if i % 2 else {"id": f"n{i}", "type": "logic.noop"})
    edges = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(n - 1)]
    return {"name": f"linear-{n}", "nodes": nodes, "edges": edges}


def fan_out_definition() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "trigger.manual"}]
    edges: list[dict[str, Any]] = []
    for b in range(1, FAN_OUT + 1):
        nodes.append(_set(f"b{b}", b))
        edges.append({"source": "start", "target": f"b{b}"})
        edges.append({"source": f"b{b}", "target": "join", "target_port": f"input_{b}"})
    nodes.append({"id": "join", "type": "logic.merge", "params": {"inputs": FAN_OUT}})
    nodes.append({"id": "end", "type": "logic.noop"})
    edges.append({"source": "join", "target": "end"})
    return {"name": "fan-out", "nodes": nodes, "edges": edges}


class LinearState(TypedDict):
    items: list[dict[str, Any]]


class FanState(TypedDict):
    items: list[dict[str, Any]]
    branches: Annotated[list[dict[str, Any]], operator.add]


def _set_fn(name: str, value: int) -> Callable[[LinearState], Awaitable[dict[str, Any]]]:
    async def fn(state: LinearState) -> dict[str, Any]:
        return {"items": [{**item, name: value} for item in state["items"]]}

    return fn


async def _noop(state: LinearState) -> dict[str, Any]:
    return {"items": list(state["items"])}


def direct_linear(n: int) -> StateGraph[Any, Any, Any, Any]:
    g: StateGraph[Any, Any, Any, Any] = StateGraph(LinearState)
    g.add_node("n0", _noop)
    for i in range(1, n):
        fn: Any = _set_fn(f"n{i}", i) if i % 2 else _noop
        g.add_node(f"n{i}", fn)
        g.add_edge(f"n{i - 1}", f"n{i}")
    g.add_edge(START, "n0")
    g.add_edge(f"n{n - 1}", END)
    return g


def direct_fan_out() -> StateGraph[Any, Any, Any, Any]:
    g: StateGraph[Any, Any, Any, Any] = StateGraph(FanState)
    g.add_node("start", _noop)
    names = []
    for b in range(1, FAN_OUT + 1):
        name = f"b{b}"

        async def branch(state: FanState, name: str = name, b: int = b) -> dict[str, Any]:
            return {"branches": [{**item, name: b} for item in state["items"]]}

        g.add_node(name, branch)
        g.add_edge("start", name)
        names.append(name)

    async def join(state: FanState) -> dict[str, Any]:
        return {"items": list(state["branches"])}

    g.add_node("join", join)
    g.add_node("end", _noop)
    g.add_edge(START, "start")
    g.add_edge(names, "join")
    g.add_edge("join", "end")
    g.add_edge("end", END)
    return g


async def time_ours(
    registry: NodeRegistry, definition: dict[str, Any], saver: AsyncPostgresSaver, runs: int
) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        compiled = compile_workflow(parse_definition(definition), registry)  # cached after 1st
        result = await run_execution(
            compiled,
            execution_id=uuid.uuid4().hex,
            workspace_id="bench",
            trigger={"x": 1},
            checkpointer=saver,
            hooks=NullHooks(),
        )
        times.append(time.perf_counter() - started)
        assert result.status == "succeeded", result.error
    return times


async def time_direct(
    graph: StateGraph[Any, Any, Any, Any], saver: AsyncPostgresSaver, runs: int
) -> list[float]:
    compiled = graph.compile(checkpointer=saver)  # compiling is not timed (we cache ours)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
        await compiled.ainvoke({"items": [{"x": 1}]}, config, durability="sync")
        times.append(time.perf_counter() - started)
    return times


@asynccontextmanager
async def database() -> AsyncIterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url.replace("postgresql+psycopg://", "postgresql://", 1)
        return
    from reporunner.platform.services.postgres import EmbeddedPostgres

    data_dir = Path(tempfile.mkdtemp(prefix="rr-bench-"))
    data_dir.chmod(0o777)  # the embedded server may run as its own user
    pg = EmbeddedPostgres(data_dir, database="rr_bench")
    try:
        yield pg.start().replace("postgresql+psycopg://", "postgresql://", 1)
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few runs (under a minute)")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per workflow")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 30)
    registry = load_builtins(NodeRegistry())
    cases = [
        ("linear-10", linear_definition(10), direct_linear(10), 10),
        ("linear-50", linear_definition(50), direct_linear(50), 50),
        ("fan-out-merge", fan_out_definition(), direct_fan_out(), FAN_OUT + 3),
    ]
    report: dict[str, Any] = {"runs": runs, "workflows": {}}
    ours_total = direct_total = 0.0
    async with database() as dsn, postgres_checkpointer(dsn) as saver:
        for name, definition, graph, nodes in cases:
            await time_ours(registry, definition, saver, 1)  # warm-up (compiles, caches)
            await time_direct(graph, saver, 1)
            ours_times: list[float] = []
            direct_times: list[float] = []
            for _ in range(runs):  # interleaved, so drifting machine load hits both alike
                ours_times += await time_ours(registry, definition, saver, 1)
                direct_times += await time_direct(graph, saver, 1)
            ours = statistics.median(ours_times)
            direct = statistics.median(direct_times)
            ours_total += ours
            direct_total += direct
            per_ours, per_direct = ours / nodes * 1000, direct / nodes * 1000
            print(
                f"{name:14s} ours {per_ours:7.3f} ms/node   direct {per_direct:7.3f} ms/node"
                f"   ratio {ours / direct:5.2f}"
            )
            report["workflows"][name] = {
                "ours_ms_per_node": round(per_ours, 3),
                "direct_ms_per_node": round(per_direct, 3),
                "ratio": round(ours / direct, 3),
            }
    report["ratio"] = round(ours_total / direct_total, 3)
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
