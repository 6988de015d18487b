"""One node run: render params, call the node (per item for ``mode="each"``), apply its error
policy (retries with exponential backoff, per-attempt timeout, stop / continue / error port),
bound the output size, and report to the hooks.

Nothing here knows about LangGraph except that interrupts must pass through untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.errors import GraphBubbleUp
from opentelemetry.trace import Span
from pydantic import BaseModel, ValidationError

from reporunner.nodes import expressions, tracing
from reporunner.nodes.base import Item, Node
from reporunner.nodes.errors import NodeError, ReporunnerError
from reporunner.nodes.logging import redact
from reporunner.platform.engine.context import (
    EngineContext,
    NodeCallScope,
    RunDeps,
    enter_call,
    leave_call,
)
from reporunner.platform.engine.definition import EdgeSpec, NodeSpec
from reporunner.platform.engine.errors import (
    InvalidRenderedParams,
    NodeFailed,
    NodeTimeout,
    OutputTooLarge,
)
from reporunner.platform.engine.state import out_key

__all__ = ["TRUNCATED_KEY", "CompiledNode", "bound_ports", "error_info", "execute_node"]

TRUNCATED_KEY = "_truncated"


@dataclass(frozen=True, slots=True)
class CompiledNode:
    """Everything the engine precomputes about one node of a workflow."""

    spec: NodeSpec
    cls: type[Node[Any]]
    node: Node[Any]
    static_params: BaseModel | None
    """Validated params when they hold no expression (validated once, at compile time)."""
    refs: frozenset[str]
    """Node ids its expressions reference (only those go into the render context)."""
    out_edges: Mapping[str, tuple[EdgeSpec, ...]]
    first_input: str

    @property
    def id(self) -> str:
        return self.spec.id


def error_info(err: BaseException, node_id: str, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """JSON-safe description of a node error (what error items and hooks carry).

    ``secrets`` are masked in the message: a library error may quote a credential.
    """
    detail = err.detail if isinstance(err, ReporunnerError) else str(err) or type(err).__name__
    code = err.code if isinstance(err, ReporunnerError) else "node_error"
    message = redact(detail, secrets) if secrets else detail
    info: dict[str, Any] = {
        "node": node_id,
        "code": code,
        "type": type(err).__name__,
        "message": message,
    }
    if isinstance(err, ReporunnerError):
        details = {k: v for k, v in err.extra.items() if isinstance(v, str | int | float | bool)}
        if details:
            info["details"] = details
    return info


def _retryable(err: BaseException) -> bool:
    """Errors a retry may fix: unexpected exceptions, timeouts, NodeError(retryable=True).

    Other ReporunnerErrors say what to fix in the workflow; repeating the call cannot help.
    """
    if isinstance(err, NodeError):
        return err.retryable
    return not isinstance(err, ReporunnerError)


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str, separators=(",", ":")))


def bound_ports(ports: Mapping[str, list[Item]], limit: int) -> dict[str, list[Item]]:
    """Keep outputs under ``limit`` bytes of JSON; cut items end with a marker item.

    The marker (``{"_truncated": {...}}``) says how many items were kept of how many, so a
    truncated output is never mistaken for a complete one.
    """
    result = {port: list(items) for port, items in ports.items()}
    if _size(result) <= limit:
        return result
    budget = limit
    for port, items in result.items():
        kept: list[Item] = []
        for item in items:
            cost = _size(item) + 1
            if cost > budget:
                break
            budget -= cost
            kept.append(item)
        if len(kept) < len(items):
            kept.append(
                {
                    TRUNCATED_KEY: {
                        "kept_items": len(kept),
                        "total_items": len(items),
                        "limit_bytes": limit,
                        "message": "output exceeded the size limit; later items were cut",
                    }
                }
            )
        result[port] = kept
    return result


def _within_limit(
    cn: CompiledNode, ports: dict[str, list[Item]], limit: int
) -> dict[str, list[Item]]:
    """The output as it is, or a clear failure: the next node must never get a cut output."""
    size = _size(ports)
    if size > limit:
        message = (
            f"node '{cn.id}' produced {size} bytes of output, more than the "
            f"{limit} bytes one node may hand on (REPORUNNER_MAX_OUTPUT_BYTES); raise the "
            "setting, or make the output smaller (fewer items, or store large content and "
            "pass a reference)"
        )
        raise NodeFailed(message, error=error_info(OutputTooLarge(message), cn.id))
    return ports


def _render_context(
    cn: CompiledNode,
    deps: RunDeps,
    state: Mapping[str, Any],
    variables: Mapping[str, Any],
    item: Item | None,
) -> dict[str, Any]:
    nodes = {}
    for ref in cn.refs:
        ports: Mapping[str, list[Item]] = state.get(out_key(ref)) or {}
        main = list(ports.get("main", []))
        nodes[ref] = {"output": main[0] if main else {}, "items": main, "ports": dict(ports)}
    return {"nodes": nodes, "trigger": deps.trigger, "item": item, "vars": variables}


def _params(cn: CompiledNode, context: Mapping[str, Any]) -> BaseModel:
    if cn.static_params is not None:
        return cn.static_params
    literal = cn.cls.literal_params
    raw = {
        k: v if k in literal else expressions.render(v, context) for k, v in cn.spec.params.items()
    }
    try:
        return cn.cls.Params.model_validate(raw)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"])) or "(root)"
        raise InvalidRenderedParams(
            f"node '{cn.id}': param '{where}' is invalid after rendering its expressions: "
            f"{first['msg']}; fix the expression or the data it reads"
        ) from err


async def _attempts(
    cn: CompiledNode,
    ctx: EngineContext,
    render_ctx: Mapping[str, Any],
    inputs: Mapping[str, list[Item]],
    run: int,
    index: int,
) -> tuple[dict[str, list[Item]] | None, BaseException | None, int]:
    """Call the node until it succeeds or its retries are used up."""
    policy = cn.spec.error_policy
    hooks = ctx.deps.hooks
    attempt = 0
    while True:
        attempt += 1
        started = time.perf_counter()
        try:
            params = _params(cn, render_ctx)
            token = enter_call(NodeCallScope(ctx.execution_id, cn.id, run, index))
            try:
                async with asyncio.timeout(policy.timeout_seconds):
                    try:
                        out = await cn.node.run(ctx, params, inputs)
                    except TimeoutError as err:
                        raise NodeError(f"node '{cn.id}': {err or 'timed out'}") from err
            finally:
                leave_call(token)
            return dict(out.ports), None, attempt
        except GraphBubbleUp:
            raise
        except TimeoutError:
            failure: BaseException = NodeTimeout(
                f"node '{cn.id}' ran longer than {policy.timeout_seconds} s; raise "
                "error_policy.timeout_seconds or make the work smaller",
                retryable=True,
            )
        except Exception as exc:
            failure = exc
        final = attempt > policy.retries or not _retryable(failure)
        info = error_info(failure, cn.id, ctx.secrets)
        duration = time.perf_counter() - started
        await hooks.node_failed(
            cn.id, run=run, error=info, attempt=attempt, duration=duration, final=final
        )
        await hooks.publish(
            "node.failed", {"node_id": cn.id, "attempt": attempt, "final": final, "error": info}
        )
        if final:
            return None, failure, attempt
        await asyncio.sleep(policy.backoff_seconds * policy.backoff_factor ** (attempt - 1))


async def _pinned(
    cn: CompiledNode, deps: RunDeps, run: int, started: float
) -> dict[str, list[Item]]:
    """A pinned node's output, handed on as if the node had produced it (test cases)."""
    ports = {port: [dict(item) for item in items] for port, items in deps.pinned[cn.id].items()}
    duration = time.perf_counter() - started
    await deps.hooks.node_finished(cn.id, run=run, outputs=ports, duration=duration, attempt=1)
    await deps.hooks.publish(
        "node.finished",
        {
            "node_id": cn.id,
            "run": run,
            "duration_ms": round(duration * 1000, 3),
            "items": {port: len(v) for port, v in ports.items()},
            "pinned": True,
        },
    )
    return ports


async def execute_node(
    cn: CompiledNode,
    deps: RunDeps,
    state: Mapping[str, Any],
    inputs: Mapping[str, list[Item]],
    node_state: dict[str, Any],
    variables: Mapping[str, Any],
    run: int,
) -> dict[str, list[Item]]:
    """Run one node over its inputs and return its (size-bounded) outputs by port.

    Raises:
        NodeFailed: the node failed for good and its policy is ``stop``.
    """
    with _node_span(cn, run) as span:
        outputs = await _execute_node(cn, deps, state, inputs, node_state, variables, run)
        if span is not None:
            span.set_attribute("reporunner.node.items", sum(len(v) for v in outputs.values()))
        return outputs


def _node_span(cn: CompiledNode, run: int) -> contextlib.AbstractContextManager[Span | None]:
    """The node run's span (a child of the execution's); a no-op while tracing is off."""
    if not tracing.enabled():
        return tracing.span("")
    return tracing.span(
        f"node {cn.id}",
        {"reporunner.node.id": cn.id, "reporunner.node.type": cn.spec.type, "reporunner.run": run},
    )


async def _execute_node(
    cn: CompiledNode,
    deps: RunDeps,
    state: Mapping[str, Any],
    inputs: Mapping[str, list[Item]],
    node_state: dict[str, Any],
    variables: Mapping[str, Any],
    run: int,
) -> dict[str, list[Item]]:
    hooks = deps.hooks
    await hooks.node_started(cn.id, run=run, inputs=inputs)
    await hooks.publish("node.started", {"node_id": cn.id, "run": run})
    started = time.perf_counter()
    if cn.id in deps.pinned:
        return await _pinned(cn, deps, run, started)
    ctx = EngineContext(deps, cn.id, variables, cn.spec.credentials, node_state)
    items = list(inputs.get(cn.first_input, []))
    calls: list[tuple[Item | None, dict[str, list[Item]]]]
    if cn.cls.mode == "each" and items:
        calls = [(item, {**inputs, cn.first_input: [item]}) for item in items]
    else:
        calls = [(items[0] if items else None, dict(inputs))]
    merged: dict[str, list[Item]] = {}
    last_attempt = 1
    for index, (item, call_inputs) in enumerate(calls):
        ctx.item_offset = index  # an "each" call's item 0 is input item ``index``
        render_ctx = _render_context(cn, deps, state, variables, item)
        ports, err, last_attempt = await _attempts(cn, ctx, render_ctx, call_inputs, run, index)
        if err is not None:
            policy = cn.spec.error_policy.on_error
            info = error_info(err, cn.id, ctx.secrets)
            if policy == "stop":
                raise NodeFailed(f"node '{cn.id}' failed: {info['message']}", error=info) from err
            error_item: Item = {"error": info}
            if item is not None:
                error_item["item"] = item
            ports = {"main" if policy == "continue" else "error": [error_item]}
        for port, port_items in (ports or {}).items():
            merged.setdefault(port, []).extend(port_items)
    duration = time.perf_counter() - started
    try:
        bounded = _within_limit(cn, merged, deps.max_output_bytes)
    except NodeFailed as err:
        info = err.extra["error"]
        await hooks.node_failed(
            cn.id, run=run, error=info, attempt=last_attempt, duration=duration, final=True
        )
        await hooks.publish("node.failed", {"node_id": cn.id, "final": True, "error": info})
        raise
    await hooks.node_finished(
        cn.id, run=run, outputs=bounded, duration=duration, attempt=last_attempt
    )
    await hooks.publish(
        "node.finished",
        {
            "node_id": cn.id,
            "run": run,
            "duration_ms": round(duration * 1000, 3),
            "items": {port: len(v) for port, v in bounded.items()},
        },
    )
    return bounded
