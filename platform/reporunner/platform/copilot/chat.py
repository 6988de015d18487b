"""Refinement chats: a thread bound to a workflow, where each turn changes the proposal.

A thread keeps its working proposal in its assistant messages: each turn edits the last
proposal (or the latest version, when nothing is proposed yet or the workflow got a newer
version meanwhile), with the earlier instructions and summaries as context, and answers with
one patch against ``base_version`` covering every change of the thread so far. ``apply`` saves
it as a new version. Threads are ``chat_threads`` rows with ``agent_id = "copilot"``; the
workflow id sits in ``agent_config`` (not ``workflow_id``, which marks threads that *run* a
chat workflow), so the chats API never mistakes one for the other.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.agents.copilot import EditResult, make_patch
from reporunner.agents.llm import Message
from reporunner.nodes.errors import NotFoundError
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform import workflows
from reporunner.platform.copilot.schemas import (
    EditOut,
    ExplanationOut,
    MissingCredentialOut,
    ThreadCreate,
    ThreadMessageOut,
    ThreadOut,
    TurnOut,
    TurnRequest,
)
from reporunner.platform.copilot.service import build_copilot, version_to_edit
from reporunner.platform.db.models import ChatMessage, ChatThread
from reporunner.platform.db.session import transaction
from reporunner.platform.resources import Resources

__all__ = [
    "COPILOT_AGENT_ID",
    "create_thread",
    "list_thread_messages",
    "list_threads",
    "post_turn",
]

COPILOT_AGENT_ID = "copilot"
_KEY = "copilot_workflow_id"


def _thread_out(row: ChatThread) -> ThreadOut:
    return ThreadOut(
        id=row.id,
        workflow_id=uuid.UUID((row.agent_config or {})[_KEY]),
        title=row.title,
        created_at=row.created_at,
    )


async def _thread(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID, thread_id: uuid.UUID
) -> ChatThread:
    row = await session.scalar(
        select(ChatThread).where(
            ChatThread.id == thread_id,
            ChatThread.workspace_id == workspace_id,
            ChatThread.agent_id == COPILOT_AGENT_ID,
        )
    )
    if row is None or (row.agent_config or {}).get(_KEY) != str(workflow_id):
        raise NotFoundError(f"copilot thread {thread_id} of workflow {workflow_id} does not exist")
    return row


async def _messages(session: AsyncSession, thread_id: uuid.UUID) -> list[ChatMessage]:
    query = (
        select(ChatMessage)
        .where(ChatMessage.thread_id == thread_id)
        .order_by(ChatMessage.created_at, ChatMessage.id)
    )
    return list((await session.execute(query)).scalars())


async def create_thread(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID, body: ThreadCreate
) -> ThreadOut:
    """Open a refinement chat about a workflow of the workspace.

    Raises:
        NotFoundError: no such workflow in the workspace.
    """
    wf = await workflows.get_workflow(session, workspace_id, workflow_id)
    row = ChatThread(
        workspace_id=workspace_id,
        title=body.title or f"Copilot: {wf.name}",
        agent_id=COPILOT_AGENT_ID,
        agent_config={_KEY: str(workflow_id)},
        end_user_id="",
        summary="",
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return _thread_out(row)


async def list_threads(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID
) -> list[ThreadOut]:
    """The workflow's refinement chats, the most recently active first.

    Raises:
        NotFoundError: no such workflow in the workspace.
    """
    await workflows.get_workflow(session, workspace_id, workflow_id)
    query = (
        select(ChatThread)
        .where(
            ChatThread.workspace_id == workspace_id,
            ChatThread.agent_id == COPILOT_AGENT_ID,
            ChatThread.agent_config[_KEY].astext == str(workflow_id),
        )
        .order_by(ChatThread.updated_at.desc(), ChatThread.id)
    )
    return [_thread_out(row) for row in (await session.execute(query)).scalars()]


def _proposal(message: ChatMessage) -> dict[str, Any] | None:
    calls = message.tool_calls or []
    return calls[0] if calls and isinstance(calls[0], dict) else None


async def list_thread_messages(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID, thread_id: uuid.UUID
) -> list[ThreadMessageOut]:
    """The thread's instructions and proposals, oldest first."""
    await _thread(session, workspace_id, workflow_id, thread_id)
    return [
        ThreadMessageOut(
            role=m.role, content=m.content, proposal=_proposal(m), created_at=m.created_at
        )
        for m in await _messages(session, thread_id)
    ]


async def post_turn(
    resources: Resources,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    thread_id: uuid.UUID,
    body: TurnRequest,
    registry: NodeRegistry,
    *,
    user_id: uuid.UUID | None = None,
) -> TurnOut:
    """Refine the thread's proposal by one instruction (and save it with ``apply``).

    Raises:
        NotFoundError: no such thread of this workflow in the workspace.
        CopilotFailed: the model's last answer was still invalid (422; nothing is stored).
    """
    async with transaction(resources.sessions) as session:
        await _thread(session, workspace_id, workflow_id, thread_id)
        earlier = await _messages(session, thread_id)
    base = await version_to_edit(resources, workspace_id, workflow_id, None)
    working = base.definition
    history: list[Message] = []
    for message in earlier:
        history.append({"role": message.role, "content": message.content})
        proposal = _proposal(message)
        if proposal is not None and proposal.get("base_version") == base.number:
            working = proposal["definition"]
    copilot = build_copilot(
        resources.settings, registry, model=body.model, max_repairs=body.max_repairs
    )
    result = await copilot.edit(working, body.message, history)
    version = None
    if body.apply:
        async with transaction(resources.sessions) as session:
            version = await workflows.save_version(
                session, workspace_id, workflow_id, result.definition, registry,
                user_id=user_id, note=(result.summary or body.message)[:500],
            )  # fmt: skip
    out = EditOut(
        base_version=base.number,
        patch=make_patch(base.definition, result.definition),
        definition=result.definition,
        summary=result.summary or body.message,
        explanations=[ExplanationOut(**e.as_dict()) for e in result.explanations],
        missing_credentials=[
            MissingCredentialOut(**m.as_dict()) for m in result.missing_credentials
        ],
        attempts=len(result.attempts),
        version=version,
    )
    await _store_turn(resources, workspace_id, workflow_id, thread_id, body.message, out, result)
    return TurnOut(**out.model_dump(), thread_id=thread_id)


async def _store_turn(
    resources: Resources,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    thread_id: uuid.UUID,
    instruction: str,
    out: EditOut,
    result: EditResult,
) -> None:
    """Store the instruction and the proposal (explicit times: ``now()`` is one value per
    transaction, and the order of the two matters to the next turn)."""
    applied = out.version.number if out.version is not None else None
    proposal = {
        "base_version": applied or out.base_version,
        "patch": out.patch,
        "definition": out.definition,
        "applied_version": applied,
    }
    asked = datetime.now(UTC)
    async with transaction(resources.sessions) as session:
        thread = await _thread(session, workspace_id, workflow_id, thread_id)
        thread.updated_at = asked
        session.add_all(
            [
                ChatMessage(workspace_id=workspace_id, thread_id=thread_id, role="user",
                            content=instruction, created_at=asked),
                ChatMessage(workspace_id=workspace_id, thread_id=thread_id, role="assistant",
                            content=out.summary, tool_calls=[proposal],
                            created_at=asked + timedelta(microseconds=1),
                            tokens_in=result.usage.prompt_tokens,
                            tokens_out=result.usage.completion_tokens,
                            cost_usd=Decimal(str(round(result.usage.cost_usd, 6)))),
            ]
        )  # fmt: skip
