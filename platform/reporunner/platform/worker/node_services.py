"""Every engine service an execution offers its nodes, put together where the parts meet.

The providers live with what they serve (sub-workflows in ``executions``, the webhook response
in ``webhooks``, the credential host guard in ``network``, the agents' services in
``chats.providers``); the executions package sits below those and names none of them, so the
worker, which runs executions, assembles the list and hands it to the runner through
:class:`~reporunner.platform.executions.WorkerState`.
"""

from __future__ import annotations

from reporunner.platform.chats.providers import AGENT_PROVIDERS
from reporunner.platform.executions.node_services import ServiceProvider, subworkflow_provider
from reporunner.platform.network import host_guard_provider
from reporunner.platform.webhooks.responder import webhook_response_provider

__all__ = ["PROVIDERS"]

PROVIDERS: tuple[ServiceProvider, ...] = (
    subworkflow_provider,
    webhook_response_provider,
    host_guard_provider,
    *AGENT_PROVIDERS,
)
"""Every service provider of a run; a service for agents goes in ``AGENT_PROVIDERS``."""
