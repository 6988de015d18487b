"""Run a compiled workflow once, durably: ``run_execution``.

I/O is injected: the checkpointer (LangGraph's ``AsyncPostgresSaver`` in production), the hooks
that record node runs and publish events, services, credentials and the HTTP client. The graph
runs with ``thread_id = execution_id`` and, by default, ``durability="sync"``, so a node's
result is committed before the next node starts (``"exit"``, for short workflows, commits only
when the run ends or parks); calling ``run_execution`` again with the same id and
checkpointer continues where the last run stopped, without re-running completed nodes.

What a caller (the execution service / worker) can rely on:

* a fresh id starts at the trigger; an id with a checkpoint continues from it (after a crash,
  a failed node is attempted again; a finished execution returns its result without running);
* ``waiting`` parks the execution; only ``resume=<value>`` continues it;
* node failures, timeouts and cancellation come back as results; exceptions that escape are
  infrastructure failures (database down...), after which the same call may be repeated;
* ``execution.finished`` is published for every outcome, ``waiting`` included (its ``status``
  says which); the time limit applies to each call, not across resumes: the workflow's
  ``settings.timeout_seconds``, capped by the server's ``max_seconds``
  (``REPORUNNER_EXECUTION_TIMEOUT_SECONDS``). The engine owns this limit: it fails the
  execution with ``execution_timeout`` naming the limit that applied, and the worker's arq
  ``job_timeout`` is derived from it (larger), so arq never cancels a run first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import BaseModel

from reporunner.nodes.base import Item
from reporunner.nodes.errors import Problem, ReporunnerError, ValidationFailed
from reporunner.platform.engine.checkpoint import fresh_thread
from reporunner.platform.engine.compile import START_PORT, CompiledWorkflow
from reporunner.platform.engine.context import RunDeps
from reporunner.platform.engine.errors import ExecutionCancelled, ExecutionTimeout, LoopStalled
from reporunner.platform.engine.execute import error_info
from reporunner.platform.engine.hooks import ExecutionHooks
from reporunner.platform.engine.state import out_key
from reporunner.platform.engine.validate import LOOP_NODE_TYPE

__all__ = ["Durability", "ExecutionResult", "ExecutionStatus", "run_execution"]

INTERRUPT = "__interrupt__"
"""Key under which ``ainvoke`` returns pending interrupts (LangGraph keeps its constant private)."""

ExecutionStatus = Literal["succeeded", "failed", "waiting", "cancelled"]
Durability = Literal["sync", "async", "exit"]


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """How an execution run ended.

    Attributes:
        status: ``succeeded``, ``failed``, ``waiting`` (parked by an interrupt) or ``cancelled``.
        outputs: Last output of every node that ran, by node id and port.
        error: For ``failed``/``cancelled``: ``{code, message, node?, type}``.
        waiting_payload: For ``waiting``: what the interrupting node asked (e.g. the approval
            form), with its ``node_id``.
        final_items: Items sent out of the ``main`` port of the nodes that ran and have no
            outgoing edges, in definition order (what a sub-workflow returns).
    """

    status: ExecutionStatus
    outputs: dict[str, dict[str, list[Item]]] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    waiting_payload: Any = None
    final_items: list[Item] = field(default_factory=list)


TRIGGER_NODE_TYPES = {
    "manual": "trigger.manual",
    "webhook": "trigger.webhook",
    "schedule": "trigger.schedule",
    "chat": "trigger.chat",
}
"""Node type of the trigger that an execution's ``trigger_type`` names."""


def entry_trigger(triggers: Sequence[tuple[str, str]], trigger_type: str) -> str | None:
    """Id of the trigger node a run of ``trigger_type`` starts at, from ``(node id, node type)``
    pairs in definition order: the first trigger of the matching type (a webhook delivery starts
    at the Webhook trigger even when a Schedule trigger comes first), else the first trigger
    (sub-workflows, retries...); None when there is no trigger."""
    wanted = TRIGGER_NODE_TYPES.get(trigger_type)
    for node_id, node_type in triggers:
        if node_type == wanted:
            return node_id
    return triggers[0][0] if triggers else None


def _initial_state(
    compiled: CompiledWorkflow, trigger_node: str | None, items: list[Item]
) -> dict[str, Any]:
    if trigger_node is None:
        if not compiled.triggers:  # pragma: no cover - validation requires a trigger
            raise ReporunnerError("the workflow has no trigger node")
        trigger_node = compiled.triggers[0]
    elif trigger_node not in compiled.triggers:
        message = (
            f"'{trigger_node}' is not a trigger node of this workflow; start it from one of: "
            f"{', '.join(compiled.triggers)}"
        )
        raise ValidationFailed(message, [Problem("", "unknown_trigger", message)])
    start = {"start": {"port": START_PORT, "items": items}}
    return {"inbox": {trigger_node: {"add": start}}}


def _result_from_state(
    compiled: CompiledWorkflow,
    values: Mapping[str, Any],
    status: ExecutionStatus,
    error: dict[str, Any] | None = None,
    waiting: Any = None,
) -> ExecutionResult:
    outputs: dict[str, dict[str, list[Item]]] = {}
    for nid in compiled.topology.node_ids:
        ports = values.get(out_key(nid))
        if ports is not None:
            outputs[nid] = ports
    final: list[Item] = []
    for nid in compiled.topology.node_ids:
        if nid in outputs and not compiled.topology.successors.get(nid):
            final.extend(outputs[nid].get("main", []))
    return ExecutionResult(status, outputs, error, waiting, final)


def _recursion_limit(compiled: CompiledWorkflow) -> int:
    settings = compiled.definition.settings
    return 2 * (len(compiled.nodes) + 1) * (settings.max_loop_iterations + 2) + 16


async def run_execution(
    compiled: CompiledWorkflow,
    *,
    execution_id: str,
    workspace_id: str,
    trigger: Item,
    checkpointer: BaseCheckpointSaver[Any] | None,
    hooks: ExecutionHooks,
    services: Mapping[str, Any] | None = None,
    credentials: Mapping[str, BaseModel] | None = None,
    resume: Any = None,
    http_client: httpx.AsyncClient | None = None,
    cancel_event: asyncio.Event | None = None,
    trigger_node: str | None = None,
    trigger_items: list[Item] | None = None,
    max_output_bytes: int = 16 * 1024 * 1024,
    durability: Durability = "sync",
    fresh: bool = False,
    max_seconds: float | None = None,
    pinned: Mapping[str, Mapping[str, list[Item]]] | None = None,
) -> ExecutionResult:
    """Run (or continue) one execution of ``compiled``.

    Args:
        compiled: From :func:`~reporunner.platform.engine.compile.compile_workflow`.
        execution_id: Also the LangGraph thread id; reuse it to continue a crashed run.
        workspace_id: Workspace that owns the execution.
        trigger: The item that started it (``{{ trigger }}``, ``ctx.trigger``).
        checkpointer: Where progress is committed (``AsyncPostgresSaver``); None runs without
            durability (and without interrupts).
        hooks: Receives node runs and events.
        services: Engine services for nodes (``subworkflow``, ``webhook_response``...).
        credentials: Decrypted credentials by credential id
            (see :meth:`CompiledWorkflow.credential_ids`).
        resume: Value handed to the waiting node's ``ctx.interrupt`` (continues a ``waiting``
            execution); None means "no resume value".
        http_client: Outbound HTTP client for nodes; an SSRF-guarded one is made if None.
        cancel_event: Set it to cancel the run; the result is then ``cancelled``.
        trigger_node: Which trigger node starts the run (the first one if None).
        trigger_items: Items the trigger node receives (``[trigger]`` if None).
        max_output_bytes: Largest output (JSON bytes) one node may hand on; a larger one fails
            the node with ``output_too_large`` naming ``REPORUNNER_MAX_OUTPUT_BYTES``.
        durability: LangGraph's checkpoint durability: ``"sync"`` commits each superstep
            before the next starts (a crash repeats at most the node that was running),
            ``"exit"`` checkpoints only when the run ends or parks (a crash runs it again from
            the trigger); see :func:`reporunner.platform.engine.durability_of`.
        fresh: The caller knows no run of this id ever started (no checkpoint can exist), so
            the checkpoint lookups (ours and LangGraph's at the start of the run) are skipped.
        max_seconds: The server's limit of one run (``REPORUNNER_EXECUTION_TIMEOUT_SECONDS``);
            a workflow's ``settings.timeout_seconds`` may only lower it. None: the workflow's.
        pinned: Outputs by node id and port that the named nodes hand on instead of running
            (a test case's pinned outputs); the hooks still see them start and finish.

    Returns:
        The outcome. Node failures, timeouts and cancellation are results, not exceptions.

    Raises:
        Exception: infrastructure failures (e.g. the checkpointer's database is unreachable)
            propagate unchanged, so the caller can retry the run with the same id.
    """
    deps = RunDeps(
        execution_id=execution_id,
        workspace_id=workspace_id,
        trigger=trigger,
        hooks=hooks,
        services=services or {},
        credentials=credentials or {},
        cancel_event=cancel_event,
        max_output_bytes=max_output_bytes,
        http_client=http_client,
        pinned=pinned or {},
    )
    saver = checkpointer
    if checkpointer is not None and fresh and resume is None:
        saver = fresh_thread(checkpointer)  # LangGraph's own lookup can only find nothing
    graph = compiled.graph.copy(update={"checkpointer": saver})
    config: Any = {
        "configurable": {"thread_id": execution_id},
        "recursion_limit": _recursion_limit(compiled),
    }
    existing = (
        await checkpointer.aget_tuple(config)
        if checkpointer is not None and (not fresh or resume is not None)
        else None
    )
    if resume is not None:
        graph_input: Any = Command(resume=resume)
    elif existing is not None:
        snapshot = await graph.aget_state(config)
        if not snapshot.next:
            stalled = _stalled_loop(compiled, snapshot.values)
            status: ExecutionStatus = "failed" if stalled else "succeeded"
            return _result_from_state(compiled, snapshot.values, status, stalled)
        if snapshot.interrupts:
            payload = snapshot.interrupts[0].value
            return _result_from_state(compiled, snapshot.values, "waiting", waiting=payload)
        graph_input = None
    else:
        graph_input = _initial_state(compiled, trigger_node, trigger_items or [trigger])
    await hooks.publish(
        "execution.started",
        {
            "execution_id": execution_id,
            "resumed": existing is not None,
            "version_hash": compiled.version_hash,
        },
    )
    try:
        limit = _time_limit(compiled, max_seconds)
        result = await _drive(compiled, graph, graph_input, config, deps, durability, limit)
    finally:
        if deps.owns_http_client and deps.http_client is not None:
            await deps.http_client.aclose()
    finished: dict[str, Any] = {"execution_id": execution_id, "status": result.status}
    if result.error is not None:
        finished["error"] = result.error
    await hooks.publish("execution.finished", finished)
    return result


def _time_limit(compiled: CompiledWorkflow, max_seconds: float | None) -> tuple[float | None, str]:
    """The seconds one run may take and the setting that says so (for the error)."""
    own = compiled.definition.settings.timeout_seconds
    if max_seconds is not None and (own is None or max_seconds < own):
        return max_seconds, f"the server's REPORUNNER_EXECUTION_TIMEOUT_SECONDS={max_seconds:g}"
    return own, f"the workflow's settings.timeout_seconds={own:g}" if own else "no limit"


async def _drive(
    compiled: CompiledWorkflow,
    graph: Any,
    graph_input: Any,
    config: Any,
    deps: RunDeps,
    durability: Durability,
    limit: tuple[float | None, str],
) -> ExecutionResult:
    """Run the graph under the execution timeout and the cancel flag; map the outcome."""
    timeout, which = limit
    mode = {"durability": durability} if graph.checkpointer is not None else {}
    run = asyncio.ensure_future(graph.ainvoke(graph_input, config, context=deps, **mode))
    waiters: set[asyncio.Future[Any]] = {run}
    cancel_wait: asyncio.Future[Any] | None = None
    if deps.cancel_event is not None:
        cancel_wait = asyncio.ensure_future(deps.cancel_event.wait())
        waiters.add(cancel_wait)
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when="FIRST_COMPLETED")
    except asyncio.CancelledError:
        # the caller (a stopping worker) gave up on this run: the graph must stop too, not
        # go on in its own future and repeat what the next owner of the execution runs
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await run
        raise
    finally:
        if cancel_wait is not None:
            cancel_wait.cancel()
    if run not in done:
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await run
        values = await _values(graph, config)
        if deps.cancelled():
            err = error_info(ExecutionCancelled("the execution was cancelled"), "")
            return _result_from_state(compiled, values, "cancelled", _no_node(err))
        err = error_info(
            ExecutionTimeout(
                f"the execution ran longer than {which} seconds; raise the limit or split "
                "the workflow"
            ),
            "",
        )
        return _result_from_state(compiled, values, "failed", _no_node(err))
    try:
        values = run.result()
    except ExecutionCancelled as exc:
        values = await _values(graph, config)
        return _result_from_state(compiled, values, "cancelled", _no_node(error_info(exc, "")))
    except ReporunnerError as exc:
        values = await _values(graph, config)
        info = dict(exc.extra.get("error") or error_info(exc, ""))
        return _result_from_state(compiled, values, "failed", info)
    interrupts = values.get(INTERRUPT) or ()
    if interrupts:
        return _result_from_state(compiled, values, "waiting", waiting=interrupts[0].value)
    stalled = _stalled_loop(compiled, values)
    if stalled is not None:
        return _result_from_state(compiled, values, "failed", stalled)
    return _result_from_state(compiled, values, "succeeded")


def _stalled_loop(compiled: CompiledWorkflow, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """A loop node still holding a running loop when the graph ended: its body sent nothing
    back on ``continue`` (a branch or filter dropped the batch), so ``done`` never fired.
    That is a failure to report, not a success without the loop's results."""
    states: Mapping[str, Any] = values.get("node_state") or {}
    for nid, cn in compiled.nodes.items():
        state = states.get(nid)
        if cn.spec.type != LOOP_NODE_TYPE or not state:
            continue
        pending = state.get("pending")
        left = f" with {len(pending)} item(s) still to send" if isinstance(pending, list) else ""
        exc = LoopStalled(
            f"loop node '{nid}' sent a batch out of 'loop' but its body sent nothing back on "
            f"'continue'{left}, so 'done' never fired; make every path of the loop body end "
            f"in '{nid}''s 'continue' input (a filter or branch that drops the batch stalls it)"
        )
        return error_info(exc, nid)
    return None


def _no_node(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k != "node" or v}


async def _values(graph: Any, config: Any) -> Mapping[str, Any]:
    if graph.checkpointer is None:
        return {}
    snapshot = await graph.aget_state(config)
    values: Mapping[str, Any] = snapshot.values
    return values
