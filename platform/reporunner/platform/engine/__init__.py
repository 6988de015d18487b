"""The workflow engine: definitions, validation, compilation to LangGraph, and durable runs.

The core is pure (``parse_definition``, ``validate``, ``compile_workflow``); ``run_execution``
takes all I/O as arguments (checkpointer, hooks, services, credentials), so the platform's
execution service and worker wrap it without the engine knowing about rows or queues.
"""

from reporunner.platform.engine.checkpoint import postgres_checkpointer
from reporunner.platform.engine.compile import CompiledWorkflow, clear_cache, compile_workflow
from reporunner.platform.engine.context import EngineContext, NodeCallScope, RunDeps, current_call
from reporunner.platform.engine.definition import (
    EdgeSpec,
    ErrorPolicy,
    NodeSpec,
    Position,
    WorkflowDefinition,
    WorkflowSettings,
    content_hash,
    parse_definition,
)
from reporunner.platform.engine.durable_run import (
    TRIGGER_NODE_TYPES,
    ExecutionResult,
    ExecutionStatus,
    entry_trigger,
    run_execution,
)
from reporunner.platform.engine.errors import (
    ExecutionCancelled,
    ExecutionTimeout,
    InvalidRenderedParams,
    LoopLimitExceeded,
    LoopStalled,
    NodeFailed,
    NodeTimeout,
    SubworkflowDepthExceeded,
)
from reporunner.platform.engine.execute import TRUNCATED_KEY, bound_ports
from reporunner.platform.engine.hooks import EVENTS, ExecutionHooks, NullHooks, RecordingHooks
from reporunner.platform.engine.subworkflow import InProcessSubWorkflows
from reporunner.platform.engine.validate import Problem, raise_for_problems, validate

__all__ = [
    "EVENTS",
    "TRIGGER_NODE_TYPES",
    "TRUNCATED_KEY",
    "CompiledWorkflow",
    "EdgeSpec",
    "EngineContext",
    "ErrorPolicy",
    "ExecutionCancelled",
    "ExecutionHooks",
    "ExecutionResult",
    "ExecutionStatus",
    "ExecutionTimeout",
    "InProcessSubWorkflows",
    "InvalidRenderedParams",
    "LoopLimitExceeded",
    "LoopStalled",
    "NodeCallScope",
    "NodeFailed",
    "NodeSpec",
    "NodeTimeout",
    "NullHooks",
    "Position",
    "Problem",
    "RecordingHooks",
    "RunDeps",
    "SubworkflowDepthExceeded",
    "WorkflowDefinition",
    "WorkflowSettings",
    "bound_ports",
    "clear_cache",
    "compile_workflow",
    "content_hash",
    "current_call",
    "entry_trigger",
    "parse_definition",
    "postgres_checkpointer",
    "raise_for_problems",
    "run_execution",
    "validate",
]
