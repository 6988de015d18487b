"""Small test nodes and helpers for the engine tests (a registry of our own, InMemorySaver).

A uniquely named module (not ``conftest``) so that ``from engine_testkit import ...`` cannot
resolve to another folder's conftest when the whole suite runs.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.errors import NodeError
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.engine.compile import compile_workflow
from reporunner.platform.engine.definition import parse_definition
from reporunner.platform.engine.durable_run import ExecutionResult, run_execution
from reporunner.platform.engine.hooks import RecordingHooks

CALLS: Counter[str] = Counter()
"""Calls per ``"<execution id>:<node id>"`` of every test node (counts re-runs)."""


class _P(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _count(ctx: NodeContext) -> None:
    CALLS[f"{ctx.execution_id}:{ctx.node_id}"] += 1


class Trigger(Node[_P]):
    type = "t.trigger"
    category = Category.TRIGGER
    display_name = "Trigger"
    description = "Starts the workflow with the trigger items."
    Params = _P
    inputs = ()

    async def run(self, ctx: NodeContext, params: _P, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        return NodeOutput.main(list(inputs.get("main") or [ctx.trigger]))


class SetP(_P):
    values: dict[str, Any] = Field(default_factory=dict)


class SetNode(Node[SetP]):
    type = "t.set"
    category = Category.TRANSFORM
    display_name = "Set"
    description = "Adds values to every item."
    Params = SetP
    mode = "each"

    async def run(self, ctx: NodeContext, params: SetP, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        return NodeOutput.main([{**item, **params.values} for item in inputs.get("main", [])])


class IfP(_P):
    field: str
    equals: Any = None


class IfNode(Node[IfP]):
    type = "t.if"
    category = Category.LOGIC
    display_name = "If"
    description = "Routes items whose field equals a value to 'true', the rest to 'false'."
    Params = IfP
    outputs = (Port("true"), Port("false"))

    async def run(self, ctx: NodeContext, params: IfP, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        items = inputs.get("main", [])
        yes = [i for i in items if i.get(params.field) == params.equals]
        no = [i for i in items if i.get(params.field) != params.equals]
        return NodeOutput({"true": yes, "false": no})


class SwitchP(_P):
    field: str
    cases: list[str]


class SwitchNode(Node[SwitchP]):
    type = "t.switch"
    category = Category.LOGIC
    display_name = "Switch"
    description = "Routes each item to the port named like its field value, else 'fallback'."
    Params = SwitchP

    @classmethod
    def output_ports(cls, params: Mapping[str, Any]) -> tuple[Port, ...]:
        return (*(Port(c) for c in params.get("cases", [])), Port("fallback"))

    async def run(self, ctx: NodeContext, params: SwitchP, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        out: dict[str, list[Item]] = {}
        for item in inputs.get("main", []):
            port = item.get(params.field)
            out.setdefault(port if port in params.cases else "fallback", []).append(item)
        return NodeOutput(out)


class MergeP(_P):
    mode: Literal["append", "by_key", "by_position"] = "append"
    key: str = "id"


class MergeNode(Node[MergeP]):
    type = "t.merge"
    category = Category.LOGIC
    display_name = "Merge"
    description = "Combines the items of two inputs."
    Params = MergeP
    inputs = (Port("in1"), Port("in2"))

    async def run(self, ctx: NodeContext, params: MergeP, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        a, b = list(inputs.get("in1", [])), list(inputs.get("in2", []))
        if params.mode == "append":
            return NodeOutput.main(a + b)
        if params.mode == "by_position":
            return NodeOutput.main([{**x, **y} for x, y in zip(a, b, strict=False)])
        right = {i.get(params.key): i for i in b}
        return NodeOutput.main([{**i, **right.get(i.get(params.key), {})} for i in a])


class FailP(_P):
    fail_times: int = 1_000_000
    retryable: bool = True


class FailNode(Node[FailP]):
    """Fails its first ``fail_times`` calls per execution."""

    type = "t.fail"
    category = Category.ACTION
    display_name = "Fail"
    description = "Fails a number of times, then passes items through."
    Params = FailP

    async def run(self, ctx: NodeContext, params: FailP, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        if CALLS[f"{ctx.execution_id}:{ctx.node_id}"] <= params.fail_times:
            if params.retryable:
                raise RuntimeError("flaky peer answered 503")
            raise NodeError("the API key was refused; bind a valid one")
        return NodeOutput.main(list(inputs.get("main", [])))


class BlockNode(Node[_P]):
    """Blocks until cancelled (for timeouts and cancellation); sets STARTED first."""

    type = "t.block"
    category = Category.ACTION
    display_name = "Block"
    description = "Waits forever."
    Params = _P
    started: ClassVar[dict[str, asyncio.Event]] = {}

    async def run(self, ctx: NodeContext, params: _P, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        self.started.setdefault(ctx.execution_id, asyncio.Event()).set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class LoopP(_P):
    batch_size: int = 1


class LoopNode(Node[LoopP]):
    """Loop over items in batches: 'loop' gets each batch, 'done' all results at the end."""

    type = "logic.loop"
    category = Category.LOGIC
    display_name = "Loop"
    description = "Loops over items in batches."
    Params = LoopP
    outputs = (Port("loop"), Port("done"))

    async def run(self, ctx: NodeContext, params: LoopP, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        state = ctx.state()
        items = list(inputs.get("main", []))
        if not state.get("active"):
            state.update(active=True, pending=items, results=[])
        else:
            state["results"] = [*state["results"], *items]
        pending = state["pending"]
        if pending:
            state["pending"] = pending[params.batch_size :]
            return NodeOutput.to("loop", pending[: params.batch_size])
        results = state["results"]
        state.clear()
        return NodeOutput.to("done", results)


class ApprovalNode(Node[_P]):
    type = "t.approval"
    category = Category.ACTION
    display_name = "Approval"
    description = "Asks a human and passes the answer on."
    Params = _P

    async def run(self, ctx: NodeContext, params: _P, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        answer = ctx.interrupt({"question": "ship it?"})
        return NodeOutput.main([{**i, "approved": answer} for i in inputs.get("main", [])])


class SubP(_P):
    workflow_id: str


class SubNode(Node[SubP]):
    type = "t.sub"
    category = Category.ACTION
    display_name = "Sub-workflow"
    description = "Runs another workflow with the items."
    Params = SubP

    async def run(self, ctx: NodeContext, params: SubP, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        runner = ctx.service("subworkflow")
        return NodeOutput.main(await runner.run(params.workflow_id, list(inputs.get("main", []))))


class CrashP(_P):
    crash: bool = True


class Crash(BaseException):
    """Stands for the worker process dying mid-node (nothing of this step is committed)."""


class CrashNode(Node[CrashP]):
    type = "t.crash"
    category = Category.ACTION
    display_name = "Crash"
    description = "Kills the run the first time it runs in an execution."
    Params = CrashP

    async def run(self, ctx: NodeContext, params: CrashP, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        if params.crash and CALLS[f"{ctx.execution_id}:{ctx.node_id}"] == 1:
            raise Crash
        return NodeOutput.main(list(inputs.get("main", [])))


class KeyNode(Node[_P]):
    type = "t.key"
    category = Category.ACTION
    display_name = "Key"
    description = "Outputs the idempotency key of each item."
    Params = _P
    mode = "each"

    async def run(self, ctx: NodeContext, params: _P, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        return NodeOutput.main([{"key": ctx.idempotency_key(0)} for _ in inputs.get("main", [])])


TEST_NODES: tuple[type[Node[Any]], ...] = (
    Trigger,
    SetNode,
    IfNode,
    SwitchNode,
    MergeNode,
    FailNode,
    BlockNode,
    LoopNode,
    ApprovalNode,
    SubNode,
    CrashNode,
    KeyNode,
)


def make_registry() -> NodeRegistry:
    """A registry holding every test node."""
    reg = NodeRegistry()
    for cls in TEST_NODES:
        reg.register(cls)
    return reg


def wf(nodes: list[dict[str, Any]], edges: list[Any], **settings: Any) -> dict[str, Any]:
    """A definition dict; edges as ``"a->b"`` or ``"a.port->b.port"`` strings."""
    parsed = []
    for e in edges:
        if isinstance(e, dict):
            parsed.append(e)
            continue
        src, dst = e.split("->")
        s_node, _, s_port = src.partition(".")
        t_node, _, t_port = dst.partition(".")
        parsed.append(
            {
                "source": s_node,
                "target": t_node,
                "source_port": s_port or "main",
                "target_port": t_port or "main",
            }
        )
    full_nodes = [{"id": n.pop("id"), "type": n.pop("type"), **n} for n in nodes]
    return {"name": "test", "nodes": full_nodes, "edges": parsed, "settings": settings}


async def execute(
    registry: NodeRegistry,
    definition: dict[str, Any],
    execution_id: str,
    *,
    trigger: Item | None = None,
    checkpointer: Any = None,
    hooks: RecordingHooks | None = None,
    **kwargs: Any,
) -> tuple[ExecutionResult, RecordingHooks]:
    hooks = hooks or RecordingHooks()
    compiled = compile_workflow(parse_definition(definition), registry)
    result = await run_execution(
        compiled,
        execution_id=execution_id,
        workspace_id="ws",
        trigger=trigger if trigger is not None else {"n": 1},
        checkpointer=checkpointer if checkpointer is not None else InMemorySaver(),
        hooks=hooks,
        **kwargs,
    )
    return result, hooks


class SqlP(_P):
    sql: str


class LiteralNode(Node[SqlP]):
    """Not in the default test registry: a node with a literal param and a credential."""

    type = "t.sql"
    category = Category.ACTION
    display_name = "SQL"
    description = "Runs SQL."
    Params = SqlP
    literal_params = frozenset({"sql"})
    credential_types = ("postgres_dsn",)
    credentials_required = True

    async def run(self, ctx: NodeContext, params: SqlP, inputs: NodeInputs) -> NodeOutput:
        return NodeOutput.main([])


class AuthP(_P):
    auth: Literal["none", "api_key", "bearer_token"] = "none"


class AuthNode(Node[AuthP]):
    """Not in the default test registry: credentials needed only as its 'auth' param says."""

    type = "t.auth"
    category = Category.ACTION
    display_name = "Auth"
    description = "Calls an API with optional auth."
    Params = AuthP
    credential_types = ("api_key", "bearer_token")

    async def run(self, ctx: NodeContext, params: AuthP, inputs: NodeInputs) -> NodeOutput:
        return NodeOutput.main([])


class LeakyNode(Node[_P]):
    """Logs and raises with its API key in the text (the engine must mask it)."""

    type = "t.leaky"
    category = Category.ACTION
    display_name = "Leaky"
    description = "Leaks its credential."
    Params = _P
    credential_types = ("api_key",)

    async def run(self, ctx: NodeContext, params: _P, inputs: NodeInputs) -> NodeOutput:
        key = ctx.credential("api_key").api_key.get_secret_value()  # type: ignore[attr-defined]
        ctx.logger.warning("calling with key %s", key)
        raise RuntimeError(f"server refused key {key}")


class ProbeNode(Node[_P]):
    """Outputs what the ``probe`` service (a callable reading the checkpoint) answers."""

    type = "t.probe"
    category = Category.ACTION
    display_name = "Probe"
    description = "Reads the committed checkpoint through the 'probe' service."
    Params = _P

    async def run(self, ctx: NodeContext, params: _P, inputs: NodeInputs) -> NodeOutput:
        _count(ctx)
        return NodeOutput.main([{"seen": await ctx.service("probe")()}])


class FileP(_P):
    path: str


class MarkNode(Node[FileP]):
    """Appends its node id to a file (counts runs across processes)."""

    type = "t.mark"
    category = Category.ACTION
    display_name = "Mark"
    description = "Appends its id to a file."
    Params = FileP

    async def run(self, ctx: NodeContext, params: FileP, inputs: NodeInputs) -> NodeOutput:
        with open(params.path, "a") as f:
            f.write(ctx.node_id + "\n")
        return NodeOutput.main(list(inputs.get("main", [])))


class KillNode(Node[FileP]):
    """SIGKILLs its own process the first time (when ``path`` does not exist yet)."""

    type = "t.kill"
    category = Category.ACTION
    display_name = "Kill"
    description = "Kills the worker process once."
    Params = FileP

    async def run(self, ctx: NodeContext, params: FileP, inputs: NodeInputs) -> NodeOutput:
        import os
        import signal

        with open(params.path + ".mark", "a") as f:
            f.write(ctx.node_id + "\n")
        if not os.path.exists(params.path):
            open(params.path, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return NodeOutput.main(list(inputs.get("main", [])))


TEST_NODES = (*TEST_NODES, ProbeNode, MarkNode, KillNode, LeakyNode)
