"""Retention (issue fault 10): old ended executions go with their node runs and checkpoints;
checkpoints of ended runs go earlier; running and recent executions stay."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from exec_testnodes import registry_with_test_nodes
from sqlalchemy import func, select, text, update

from reporunner.platform.chats import ChatCreate, create_chat
from reporunner.platform.db.models import ChatMessage, ChatTurn
from reporunner.platform.db.models.workflows import Execution, NodeRun
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import start_execution
from reporunner.platform.executions.retention import prune_once
from reporunner.platform.resources import Resources
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow

REGISTRY = registry_with_test_nodes()
GREET = {
    "name": "greet",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {"id": "set", "type": "data.set", "params": {"fields": [{"name": "hi", "value": "yes"}]}},
    ],
    "edges": [{"source": "start", "target": "set"}],
}


async def _counts(resources: Resources, ex_id: uuid.UUID) -> tuple[int, int, int]:
    async with resources.sessions() as session:
        rows = await session.scalar(select(func.count()).where(Execution.id == ex_id))
        runs = await session.scalar(select(func.count()).where(NodeRun.execution_id == ex_id))
        checkpoints = await session.scalar(
            text("SELECT count(*) FROM checkpoints WHERE thread_id = :t"), {"t": str(ex_id)}
        )
    return int(rows or 0), int(runs or 0), int(checkpoints or 0)


async def _age(resources: Resources, ex_id: uuid.UUID, **values: object) -> None:
    async with resources.sessions() as session, session.begin():
        await session.execute(update(Execution).where(Execution.id == ex_id).values(**values))


async def test_retention_prunes_old_executions_and_checkpoints_only(
    resources: Resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY)
    old, recent, ended_hours_ago, running = [
        (await start_execution(resources, tenant.workspace_id, wf.id, {})).id for _ in range(4)
    ]
    await build_worker(resources, burst=True, handle_signals=False, registry=REGISTRY).main()
    for ex in (old, recent, ended_hours_ago, running):
        assert (await _counts(resources, ex))[1:] == (2, 1), "the run left rows and a checkpoint"
    now = datetime.now(UTC)
    await _age(resources, old, finished_at=now - timedelta(days=10))
    await _age(resources, ended_hours_ago, finished_at=now - timedelta(hours=3))
    await _age(resources, running, status="running", finished_at=None)
    await _age(resources, running, created_at=now - timedelta(days=30))
    keep_all = dataclasses.replace(
        resources,
        settings=resources.settings.model_copy(
            update={"execution_retention_days": 0, "checkpoint_retention_hours": 0}
        ),
    )
    assert await prune_once(keep_all) == {"executions": 0, "checkpoints": 0, "chat_turns": 0}
    assert await _counts(resources, old) == (1, 2, 1)
    pruning = dataclasses.replace(
        resources,
        settings=resources.settings.model_copy(
            update={"execution_retention_days": 7, "checkpoint_retention_hours": 1}
        ),
    )
    done = await prune_once(pruning)
    assert done["executions"] >= 1
    assert await _counts(resources, old) == (0, 0, 0)  # row, node runs and checkpoints gone
    assert await _counts(resources, ended_hours_ago) == (1, 2, 0)  # history kept, checkpoint gone
    assert await _counts(resources, recent) == (1, 2, 1)
    assert await _counts(resources, running) == (1, 2, 1)  # never pruned while it may continue


async def test_retention_prunes_ended_chat_turns_but_never_active_ones_or_messages(
    resources: Resources, tenant_factory
) -> None:
    tenant = await tenant_factory(role="editor")
    async with transaction(resources.sessions) as session:
        chat = await create_chat(
            session,
            tenant.workspace_id,
            tenant.user_id,
            ChatCreate.model_validate({"agent": {"model": "scripted/chat"}}),
        )
    now = datetime.now(UTC)
    turns: dict[str, uuid.UUID] = {}
    async with transaction(resources.sessions) as session:
        for name, status, finished in (
            ("old_ok", "succeeded", now - timedelta(days=10)),
            ("old_failed", "failed", now - timedelta(days=10)),
            ("recent", "succeeded", now - timedelta(hours=1)),
            ("active", "running", None),
        ):
            message = ChatMessage(
                workspace_id=tenant.workspace_id, thread_id=chat.id, role="user", content=name
            )
            session.add(message)
            await session.flush()
            turn = ChatTurn(
                workspace_id=tenant.workspace_id,
                thread_id=chat.id,
                message_id=message.id,
                status=status,
                attempts=1,
                finished_at=finished,
                created_at=now - timedelta(days=30),
            )
            session.add(turn)
            await session.flush()
            turns[name] = turn.id
    pruning = dataclasses.replace(
        resources,
        settings=resources.settings.model_copy(update={"execution_retention_days": 7}),
    )
    done = await prune_once(pruning)
    assert done["chat_turns"] >= 2
    async with resources.sessions() as session:
        left = set(await session.scalars(select(ChatTurn.id).where(ChatTurn.thread_id == chat.id)))
        messages = await session.scalar(
            select(func.count()).where(ChatMessage.thread_id == chat.id)
        )
    assert left == {turns["recent"], turns["active"]}
    assert messages == 4  # the thread keeps what was said
