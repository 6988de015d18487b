"""Identity test kit: a second workspace full of rows of every kind."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from reporunner.platform.db.models import (
    ApiKey,
    ChatMessage,
    ChatThread,
    ChatTurn,
    ChatWidget,
    Credential,
    Document,
    EvalDataset,
    EvalRun,
    Execution,
    KnowledgeBase,
    McpServer,
    Memory,
    OneTimeToken,
    OriginalBlob,
    OriginalChunk,
    Schedule,
    Workflow,
    WorkflowTestRun,
    WorkflowVersion,
)
from reporunner.platform.db.session import create_engine, session_factory

# how the copilot marks its threads (reporunner.platform.copilot.chat)
COPILOT_AGENT_ID = "copilot"
COPILOT_KEY = "copilot_workflow_id"

MINIMAL_DEFINITION: dict[str, Any] = {
    "name": "minimal",
    "nodes": [{"id": "start", "type": "trigger.manual", "params": {}}],
    "edges": [],
}


@dataclass(frozen=True, slots=True)
class Rows:
    """Ids of one row of each kind in a workspace, by the path parameter that names it."""

    ids: dict[str, str]


async def fill_workspace(database_url: str, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Rows:
    """Write a workflow (with a published version), an execution, a credential, a knowledge
    base with a document (and its stored original), into ``workspace_id``; returns their ids
    by path parameter name."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            wf = Workflow(workspace_id=workspace_id, name="b-workflow", description="")
            session.add(wf)
            await session.flush()
            version = WorkflowVersion(
                workspace_id=workspace_id, workflow_id=wf.id, number=1,
                definition=MINIMAL_DEFINITION, content_hash=uuid.uuid4().hex, note="",
            )  # fmt: skip
            session.add(version)
            await session.flush()
            wf.published_version_id = version.id
            execution = Execution(
                workspace_id=workspace_id, workflow_id=wf.id, version_id=version.id,
                status="waiting", trigger={}, waiting_payload={"question": "ok?"},
            )  # fmt: skip
            credential = Credential(
                workspace_id=workspace_id, name=f"b-cred-{uuid.uuid4().hex[:6]}",
                type="bearer_token", ciphertext=b"x", nonce=b"n" * 12, key_id="k",
                fields_set=["token"],
            )  # fmt: skip
            kb = KnowledgeBase(
                workspace_id=workspace_id, name="b-kb", embedding_model="fake", embedding_dim=8
            )
            chat = ChatThread(workspace_id=workspace_id, title="b-chat", workflow_id=wf.id)
            memory = Memory(workspace_id=workspace_id, agent_id="b-agent", text="b-memory")
            schedule = Schedule(
                workspace_id=workspace_id, workflow_id=wf.id, node_id="tick", cron="* * * * *"
            )
            copilot = ChatThread(
                workspace_id=workspace_id, title="b-copilot", agent_id=COPILOT_AGENT_ID,
                agent_config={COPILOT_KEY: str(wf.id)},
            )  # fmt: skip
            mcp_server = McpServer(
                workspace_id=workspace_id, name="b-mcp", transport="streamable_http",
                url="https://mcp.example.com/mcp", tools=[],
            )  # fmt: skip
            invitation = OneTimeToken(
                workspace_id=workspace_id, kind="invitation", token_hash=uuid.uuid4().hex,
                email=f"b-{uuid.uuid4().hex[:6]}@example.test", role="viewer",
                expires_at=datetime.now(UTC) + timedelta(days=1),
            )  # fmt: skip
            widget = ChatWidget(
                workspace_id=workspace_id, public_id=f"wg_b{uuid.uuid4().hex[:12]}",
                name="b-widget", workflow_id=wf.id, allowed_origins=["https://b.example"],
                greeting="", colors={}, messages_per_minute=10, visitors_per_minute=10,
                enabled=True,
            )  # fmt: skip
            rows = [execution, credential, kb, chat, memory, schedule, copilot, mcp_server]
            session.add_all([*rows, invitation, widget])
            await session.flush()
            doc = Document(
                workspace_id=workspace_id, knowledge_base_id=kb.id, name="b.txt", source="text",
                status="ready",
            )  # fmt: skip
            question = ChatMessage(
                workspace_id=workspace_id, thread_id=chat.id, role="user", content="b-chat?"
            )
            session.add_all([doc, question])
            await session.flush()
            turn = ChatTurn(
                workspace_id=workspace_id, thread_id=chat.id, message_id=question.id,
                status="succeeded", attempts=1,
            )  # fmt: skip
            session.add(turn)
            await session.flush()
            test_run = WorkflowTestRun(
                workspace_id=workspace_id, workflow_id=wf.id, version_id=version.id,
                version_number=1, status="passed", cases=[], report={"passed": True},
            )  # fmt: skip
            dataset = EvalDataset(
                workspace_id=workspace_id, name="b-dataset", description="",
                scorers=[{"type": "contains"}], cases=[{"input": "b", "expected": "b"}],
            )  # fmt: skip
            session.add_all([test_run, dataset])
            await session.flush()
            eval_runs = [
                EvalRun(
                    workspace_id=workspace_id,
                    dataset_id=dataset.id,
                    target={"agent": {}},
                    note="",
                    status="queued",
                    cancel_requested=False,
                    results=[],
                )
                for _ in range(2)
            ]
            session.add_all(eval_runs)
            # its original in the PostgreSQL store
            blob = OriginalBlob(
                workspace_id=workspace_id, knowledge_base_id=kb.id,
                path=f"{workspace_id}/{kb.id}/{'0' * 64}/b.txt", size_bytes=8, sha256="0" * 64,
            )  # fmt: skip
            session.add(blob)
            await session.flush()
            session.add(
                OriginalChunk(workspace_id=workspace_id, blob_id=blob.id, seq=0, data=b"b-memory")
            )
            await session.flush()
            key_id = await session.scalar(
                select(ApiKey.id).where(ApiKey.workspace_id == workspace_id).limit(1)
            )
            ids = {
                "key_id": str(key_id),
                "chat_id": str(chat.id),
                "turn_id": str(turn.id),
                "memory_id": str(memory.id),
                "schedule_id": str(schedule.id),
                "invitation_id": str(invitation.id),
                "server_id": str(mcp_server.id),
                "widget_id": str(widget.id),
                "thread_id": str(copilot.id),
                "workflow_id": str(wf.id),
                "execution_id": str(execution.id),
                "credential_id": str(credential.id),
                "kb_id": str(kb.id),
                "doc_id": str(doc.id),
                "user_id": str(user_id),
                "workspace_id": str(workspace_id),
                "number": "1",
                "test_run_id": str(test_run.id),
                "dataset_id": str(dataset.id),
                "eval_run_id": str(eval_runs[0].id),
                "other_id": str(eval_runs[1].id),
            }
    finally:
        await engine.dispose()
    return Rows(ids)


def definition_bytes() -> bytes:
    return json.dumps(MINIMAL_DEFINITION).encode()
