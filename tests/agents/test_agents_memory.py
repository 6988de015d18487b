"""Long-term memory on the real Postgres (pgvector) with the local MiniLM embedder, and the
thread-history window."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from reporunner.agents.llm import LLMClient, LLMConfig
from reporunner.agents.memory import MemoryScope, SqlMemoryStore, window_history
from reporunner.agents.nodes import AiAgent
from reporunner.agents.testing import Reply, ScriptedLLM, scripted_llm, tool_call
from reporunner.nodes.errors import NotFoundError
from reporunner.nodes.testing import NodeTestContext, run_node


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


@pytest.fixture(scope="session")
def embedder() -> Any:
    from reporunner.knowledge.embeddings import embedder_for

    return embedder_for("all-MiniLM-L6-v2")


@pytest.fixture
async def store(services: Any, embedder: Any) -> AsyncIterator[SqlMemoryStore]:
    engine = create_async_engine(services.database_url, pool_size=2)
    yield SqlMemoryStore(async_sessionmaker(engine, expire_on_commit=False), embedder)
    await engine.dispose()


def agent_params(prompt: str, user: str) -> dict[str, Any]:
    return {
        "model": "scripted/concierge",
        "prompt": prompt,
        "memory": {"enabled": True, "agent_id": "concierge", "end_user_id": user},
    }


async def test_memory_written_in_one_thread_is_recalled_in_another(
    llm: ScriptedLLM, store: SqlMemoryStore
) -> None:
    workspace = str(uuid.uuid4())
    fact = "The user is allergic to peanuts."
    llm.plan(Reply(tool_calls=[tool_call("remember", {"text": fact})]), Reply("Noted."))
    first = NodeTestContext(workspace_id=workspace, services={"memory": store})
    await run_node(AiAgent, agent_params("Remember: I am allergic to peanuts.", "u1"), {}, first)
    assert "remember" in llm.requests[0].tool_names
    assert "recall" in llm.requests[0].tool_names

    # a new conversation (no history): the fact comes back through automatic recall
    llm.plan(Reply("Try apple slices."))
    second = NodeTestContext(workspace_id=workspace, services={"memory": store})
    out = await run_node(AiAgent, agent_params("Which foods am I allergic to?", "u1"), {}, second)
    assert out.ports["main"][0]["recalled_memories"] == [fact]
    system_texts = [m["content"] for m in llm.requests[2].messages if m["role"] == "system"]
    assert any(fact in text for text in system_texts)

    # another end user of the same agent does not get it
    llm.plan(Reply("No idea."))
    other = NodeTestContext(workspace_id=workspace, services={"memory": store})
    out = await run_node(AiAgent, agent_params("Which foods am I allergic to?", "u2"), {}, other)
    assert out.ports["main"][0]["recalled_memories"] == []
    assert not any(fact in str(m["content"]) for m in llm.requests[3].messages)


async def test_recall_tool_list_and_delete(llm: ScriptedLLM, store: SqlMemoryStore) -> None:
    workspace = str(uuid.uuid4())
    scope = MemoryScope(workspace, "concierge", "u1")
    first = await store.remember(scope, "Prefers window seats on flights.")
    again = await store.remember(scope, "Prefers window seats on flights.")
    assert again.id == first.id  # the same fact is stored once
    await store.remember(scope, "Lives in Lisbon.")
    llm.plan(Reply(tool_calls=[tool_call("recall", {"query": "seat preference"})]), Reply("ok"))
    params = agent_params("Book me a flight", "u1")
    params["memory"]["auto_recall"] = False
    ctx = NodeTestContext(workspace_id=workspace, services={"memory": store})
    await run_node(AiAgent, params, {}, ctx)
    recalled = next(m for m in llm.requests[1].messages if m["role"] == "tool")["content"]
    assert "window seats" in recalled

    listed = await store.list(workspace, agent_id="concierge")
    assert sorted(r.text for r in listed) == [
        "Lives in Lisbon.",
        "Prefers window seats on flights.",
    ]
    with pytest.raises(NotFoundError):
        await store.delete(str(uuid.uuid4()), listed[0].id)  # another workspace: not found
    await store.delete(workspace, listed[0].id)
    assert len(await store.list(workspace)) == 1


def words(messages: Any) -> int:
    return sum(len(str(m.get("content") or "").split()) for m in messages)


async def test_history_window_keeps_recent_turns_and_summarises_older(llm: ScriptedLLM) -> None:
    history = []
    for n in range(6):
        history.append({"role": "user", "content": f"question {n} " + "word " * 20})
        history.append({"role": "assistant", "content": f"answer {n} " + "word " * 20})
    llm.plan(Reply("User asked questions 0-3; all answered."))
    client = LLMClient(LLMConfig("scripted/m"))
    window = await window_history(history, budget_tokens=100, client=client, counter=words)
    assert window.messages[0]["role"] == "system"
    assert "questions 0-3" in window.messages[0]["content"]
    kept = window.messages[1:]
    assert kept == history[window.covered :]
    assert words(kept) <= 100
    assert window.covered == len(history) - len(kept)
    assert "question 0" in llm.requests[0].messages[1]["content"]
    assert window.usage.calls == 1

    # next turn: only the newly dropped messages are summarised, with the summary so far
    more = [*history, {"role": "user", "content": "question 6 " + "word " * 60}]
    llm.plan(Reply("Summary v2."))
    second = await window_history(
        more,
        budget_tokens=100,
        summary=window.summary,
        covered=window.covered,
        client=client,
        counter=words,
    )
    prompt = llm.requests[1].messages[1]["content"]
    assert prompt.startswith("Earlier summary:\nUser asked questions 0-3")
    assert "question 0" not in prompt
    assert second.summary == "Summary v2."


async def test_history_is_windowed_in_the_agent_node(llm: ScriptedLLM) -> None:
    history = [{"role": "user", "content": "hi " * 400}, {"role": "assistant", "content": "yo"}]
    llm.plan(Reply("summary of the greeting"), Reply("fine"))
    params = {
        "model": "scripted/m",
        "prompt": "and now?",
        "history": history,
        "memory": {"history_tokens": 200},
    }
    ctx = NodeTestContext()
    out = await run_node(AiAgent, params, {}, ctx)
    sent = llm.requests[1].messages
    assert [m["role"] for m in sent] == ["system", "system", "assistant", "user"]
    assert "summary of the greeting" in sent[1]["content"]
    assert out.ports["main"][0]["usage"]["calls"] == 2
    usage_events = [d for n, d in ctx.events if n == "llm.usage"]
    assert [e["calls"] for e in usage_events] == [2]


async def test_recall_can_use_the_hnsw_index_and_keeps_its_scope(
    store: SqlMemoryStore, services: Any
) -> None:
    """The recall query matches the partial HNSW index of migration 0003 (the planner may
    choose it), and a recall answers from its own scope only, best match first."""
    import psycopg

    from reporunner.agents.memory.service import recall_sql

    workspace = str(uuid.uuid4())
    mine = MemoryScope(workspace, "planner", "u1")
    theirs = MemoryScope(workspace, "planner", "u2")
    await store.remember(mine, "The user's favourite colour is green.")
    await store.remember(mine, "The user lives in Lisbon.")
    await store.remember(theirs, "The user's favourite colour is red.")
    hits = await store.recall(mine, "what colour does the user like?", top_k=2)
    assert hits[0].text == "The user's favourite colour is green."
    assert all("red" not in h.text for h in hits)

    query = recall_sql(384).replace(":q", "%(q)s").replace(":ws", "%(ws)s")
    query = query.replace(":agent", "%(agent)s").replace(":user", "%(user)s")
    query = query.replace(":k", "%(k)s")
    params = {"q": str([0.1] * 384), "ws": workspace, "agent": "planner", "user": "u1", "k": 3}
    with psycopg.connect(services.pg_dsn) as conn:
        # without the scope btree (dropped in this transaction only), no seq scan allowed
        conn.execute("DROP INDEX ix_memories_scope")
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, params).fetchall())
        conn.rollback()
    assert "ix_memories_hnsw_384" in plan
