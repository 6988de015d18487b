"""Protocols of the services the engine lends to nodes through ``ctx.service(name)``.

Nodes depend on these protocols only; the engine (``reporunner.platform``) implements them and
test code passes small fakes through ``NodeTestContext(services=...)``. Fetch them with the
typed helpers below, which say clearly what is wrong when the engine did not provide one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from reporunner.nodes.base import Item, NodeContext
from reporunner.nodes.errors import NodeError

__all__ = [
    "SUBWORKFLOW",
    "WEBHOOK_RESPONSE",
    "SubWorkflowRunner",
    "SubWorkflowStarter",
    "WebhookResponder",
    "subworkflow_runner",
    "subworkflow_starter",
    "webhook_responder",
]

SUBWORKFLOW = "subworkflow"
"""Service name of the :class:`SubWorkflowRunner`."""
WEBHOOK_RESPONSE = "webhook_response"
"""Service name of the :class:`WebhookResponder`."""


@runtime_checkable
class SubWorkflowRunner(Protocol):
    """Runs another workflow of the same workspace (``workflow.execute``)."""

    async def run(self, workflow_id: str, items: list[Item]) -> list[Item]:
        """Run the published version of ``workflow_id`` with ``items`` as its trigger input
        and wait for it; returns the items its last node sent.

        Raises:
            NotFoundError: no such workflow in this workspace.
            NodeError: the sub-workflow failed.
        """
        ...


@runtime_checkable
class SubWorkflowStarter(Protocol):
    """Optionally offered by the ``subworkflow`` service: start a run without waiting
    (``workflow.execute`` in ``fire_and_forget`` mode)."""

    async def start(self, workflow_id: str, items: list[Item]) -> str:
        """Queue a run of ``workflow_id`` with ``items``; returns the new execution id."""
        ...


@runtime_checkable
class WebhookResponder(Protocol):
    """Answers the HTTP request that triggered this execution (``webhook.respond``)."""

    async def respond(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        """Send the response; ``body`` is JSON-encoded unless it is ``str`` or ``bytes``.

        Raises:
            ConflictError: the webhook was already answered.
        """
        ...


def _typed(ctx: NodeContext, name: str, proto: type[Any]) -> Any:
    service = ctx.service(name)
    if not isinstance(service, proto):
        raise NodeError(
            f"the engine's '{name}' service is a {type(service).__name__}, which does not "
            f"implement {proto.__name__}"
        )
    return service


def subworkflow_runner(ctx: NodeContext) -> SubWorkflowRunner:
    """The engine's :class:`SubWorkflowRunner` (raises :class:`NodeError` when absent)."""
    runner: SubWorkflowRunner = _typed(ctx, SUBWORKFLOW, SubWorkflowRunner)
    return runner


def subworkflow_starter(ctx: NodeContext) -> SubWorkflowStarter:
    """The ``subworkflow`` service as a :class:`SubWorkflowStarter` (raises
    :class:`NodeError` when the engine can only run sub-workflows and wait)."""
    service = ctx.service(SUBWORKFLOW)
    if not isinstance(service, SubWorkflowStarter):
        raise NodeError(
            f"the engine's '{SUBWORKFLOW}' service ({type(service).__name__}) does not implement "
            "SubWorkflowStarter: it can run sub-workflows only while waiting; use mode 'wait'"
        )
    return service


def webhook_responder(ctx: NodeContext) -> WebhookResponder:
    """The engine's :class:`WebhookResponder` (raises :class:`NodeError` when absent, e.g. when
    the execution was not started by a webhook that waits for a response)."""
    responder: WebhookResponder = _typed(ctx, WEBHOOK_RESPONSE, WebhookResponder)
    return responder
