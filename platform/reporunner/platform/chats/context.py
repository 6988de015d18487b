"""The :class:`~reporunner.nodes.NodeContext` of a chat turn run in the API process.

Events the agent emits go to an :class:`asyncio.Queue` that the SSE response drains, so tokens
reach the browser as the model writes them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel

from reporunner.nodes.base import Item
from reporunner.nodes.errors import CredentialError, NodeError
from reporunner.nodes.ssrf import guarded_client

__all__ = ["ChatContext"]

_log = logging.getLogger("reporunner.chats")


@dataclass
class ChatContext:
    """One chat turn's node context (agent id as node id, chat id in the execution id);
    ``credentials`` are the thread's bound credentials, decrypted for this turn."""

    execution_id: str
    node_id: str
    workspace_id: str
    trigger: Item
    services: Mapping[str, Any]
    queue: asyncio.Queue[tuple[str, dict[str, Any]]]
    vars: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, BaseModel] = field(default_factory=dict)
    http_client: httpx.AsyncClient | None = None
    node_state: dict[str, Any] = field(default_factory=dict)
    logger: logging.LoggerAdapter[logging.Logger] = field(init=False)

    def __post_init__(self) -> None:
        self.logger = logging.LoggerAdapter(
            _log, {"execution_id": self.execution_id, "node_id": self.node_id}
        )

    @property
    def http(self) -> httpx.AsyncClient:
        if self.http_client is None:
            self.http_client = guarded_client()
        return self.http_client

    def credential(self, name: str) -> BaseModel:
        try:
            return self.credentials[name]
        except KeyError:
            raise CredentialError(
                f"this chat binds no '{name}' credential; create the chat with "
                f'"credentials": {{"{name}": "<credential id>"}} or set the provider key in the '
                "server environment"
            ) from None

    def idempotency_key(self, item_index: int = 0) -> str:
        return f"{self.execution_id}:{self.node_id}:{item_index}"

    def is_cancelled(self) -> bool:
        return False

    async def emit(self, event: str, data: Mapping[str, Any]) -> None:
        await self.queue.put((event, dict(data)))

    def interrupt(self, payload: Mapping[str, Any]) -> Any:
        raise NodeError(
            "in a chat the user is right here: ask your question in your answer instead"
        )

    def state(self) -> MutableMapping[str, Any]:
        return self.node_state

    def service(self, name: str) -> Any:
        try:
            return self.services[name]
        except KeyError:
            offered = ", ".join(sorted(self.services)) or "none"
            raise NodeError(
                f"a chat turn offers no '{name}' service (offered: {offered}); use a chat "
                "workflow for tools that need it"
            ) from None

    async def aclose(self) -> None:
        """Close the HTTP client if this context made one."""
        if self.http_client is not None:
            await self.http_client.aclose()
