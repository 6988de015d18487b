"""``run_chat_turn_job``: write the answer of one queued chat turn (``platform.chats``)."""

from __future__ import annotations

import uuid
from typing import Any

from reporunner.platform.chats import TurnWorker, process_turn
from reporunner.platform.resources import Resources

__all__ = ["CHAT_STATE_KEY", "JOBS", "run_chat_turn_job"]

CHAT_STATE_KEY = "chat_turns"
"""``ctx`` key of the worker's :class:`~reporunner.platform.chats.TurnWorker`."""


async def run_chat_turn_job(ctx: dict[str, Any], turn_id: str) -> str:
    """Claim and answer ``turn_id``; a duplicate job of a claimed or ended turn does nothing.

    Returns:
        ``skipped``, ``succeeded`` or ``failed``.
    """
    resources: Resources = ctx["resources"]
    state: TurnWorker = ctx[CHAT_STATE_KEY]
    return await process_turn(resources, uuid.UUID(turn_id), state)


JOBS = [run_chat_turn_job]
