"""Which checkpoint durability a workflow runs with: a promise made per workflow.

``settings.durability`` of a workflow says it:

* ``"durable"``: LangGraph ``durability="sync"``. Every node's result is committed before the
  next node starts. A worker killed with SIGKILL loses no execution, and when another worker
  continues it, only the node that was running when the worker died runs again.
* ``"fast"``: LangGraph ``durability="exit"``. One checkpoint when the run ends or parks
  (``waiting``). A killed worker still loses no execution (its row is re-queued by the reaper),
  but the run starts again from the trigger: every node before the crash may run twice.
* ``"auto"`` (the default): ``fast`` when every node is one of :data:`FAST_NODE_TYPES`
  (triggers, in-memory data and logic nodes, and ``webhook.respond``, which answers once per
  execution however often it runs), else ``durable``. A workflow with an HTTP call, an LLM or
  agent node, a message, a wait, an approval, a loop, a sub-workflow or any plugin node stays
  ``durable``.
"""

from __future__ import annotations

from typing import Literal

from reporunner.platform.engine.compile import CompiledWorkflow

__all__ = ["FAST_NODE_TYPES", "DurabilityMode", "durability_of", "langgraph_durability"]

DurabilityMode = Literal["auto", "durable", "fast"]

FAST_NODE_TYPES = frozenset(
    {
        "trigger.manual",
        "trigger.webhook",
        "trigger.schedule",
        "trigger.chat",
        "data.aggregate",
        "data.crypto",
        "data.csv",
        "data.datetime",
        "data.json",
        "data.limit",
        "data.rename_keys",
        "data.set",
        "data.sort",
        "data.split_out",
        "data.template",
        "data.xml",
        "logic.filter",
        "logic.if",
        "logic.merge",
        "logic.noop",
        "logic.stop",
        "logic.switch",
        "webhook.respond",
    }
)
"""Node types that are short, run in memory and touch nothing outside the execution (or, for
``webhook.respond``, touch it idempotently): running them twice after a crash is harmless."""


def durability_of(compiled: CompiledWorkflow) -> Literal["durable", "fast"]:
    """The mode a workflow runs with (``auto`` resolved by the rule above)."""
    chosen = compiled.definition.settings.durability
    if chosen != "auto":
        return chosen
    types = {cn.spec.type for cn in compiled.nodes.values()}
    return "fast" if types <= FAST_NODE_TYPES else "durable"


def langgraph_durability(compiled: CompiledWorkflow) -> Literal["sync", "exit"]:
    """LangGraph's ``durability`` argument for the workflow's mode."""
    return "exit" if durability_of(compiled) == "fast" else "sync"
