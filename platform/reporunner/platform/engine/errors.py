"""Errors the engine raises; all under :class:`reporunner.nodes.errors.ReporunnerError`."""

from __future__ import annotations

from reporunner.nodes.errors import ConflictError, NodeError, ReporunnerError

__all__ = [
    "ExecutionCancelled",
    "ExecutionTimeout",
    "InvalidRenderedParams",
    "LoopLimitExceeded",
    "LoopStalled",
    "NodeFailed",
    "NodeTimeout",
    "SubworkflowDepthExceeded",
]


class NodeFailed(ReporunnerError):
    """A node failed for good (retries used up) and its error policy is ``stop``."""

    code = "node_failed"
    status = 500


class NodeTimeout(NodeError):
    """One attempt of a node ran longer than its ``error_policy.timeout_seconds``."""

    code = "node_timeout"


class InvalidRenderedParams(ReporunnerError):
    """Params failed the node's schema after their expressions were rendered."""

    code = "invalid_params"
    status = 422


class OutputTooLarge(ReporunnerError):
    """A node produced more output than the execution may carry from node to node."""

    code = "output_too_large"
    status = 413


class LoopLimitExceeded(ReporunnerError):
    """A node ran more often than ``settings.max_loop_iterations`` allows."""

    code = "loop_limit_exceeded"
    status = 422


class LoopStalled(ReporunnerError):
    """A loop node sent a batch to its body and nothing came back on ``continue``."""

    code = "loop_stalled"
    status = 422


class ExecutionTimeout(ReporunnerError):
    """The execution ran longer than ``settings.timeout_seconds``."""

    code = "execution_timeout"
    status = 504


class ExecutionCancelled(ConflictError):
    """The execution was cancelled while it ran."""

    code = "execution_cancelled"


class SubworkflowDepthExceeded(ReporunnerError):
    """Sub-workflows nested deeper than ``settings.max_subworkflow_depth``."""

    code = "subworkflow_depth_exceeded"
    status = 422
