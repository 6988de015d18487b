"""Node retrieval with the local MiniLM: the right node types for a description."""

from __future__ import annotations

import pytest

from reporunner.agents.copilot import ALWAYS_INCLUDED, NodeIndex
from reporunner.agents.copilot.retrieval import clauses


@pytest.fixture(scope="module")
def index(node_catalog) -> NodeIndex:
    return NodeIndex(node_catalog)


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "every morning at 8 fetch the Hacker News front page and post the top stories to Slack",
            {"trigger.schedule", "http.request", "slack.message"},
        ),
        (
            "when a webhook receives an order, store it in our database and email the customer "
            "a confirmation",
            {"trigger.webhook", "postgres.query", "email.send"},
        ),
        (
            "read the latest posts from a blog feed and send new ones to our Discord channel",
            {"rss.read", "discord.message"},
        ),
        (
            "parse the uploaded CSV, remove duplicate rows and sort them by date",
            {"data.csv", "data.dedupe", "data.sort"},
        ),
        ("add incoming documents to the company handbook knowledge base", {"knowledge.ingest"}),
        (
            "ask a manager to approve expenses over 1000 before paying them through the API",
            {"human.approval", "http.request"},
        ),
        ("cache the exchange rates in Redis for an hour", {"redis.command"}),
        (
            "every morning fetch the Hacker News front page, summarise the top 5 stories with "
            "an LLM and post the summary to Slack",
            {"trigger.schedule", "http.request", "ai.llm", "slack.message"},
        ),
        (
            "classify incoming support tickets as billing, bug or question and route each "
            "category to a different Teams channel",
            {"ai.classify", "logic.switch", "teams.message"},
        ),
        (
            "an agent that researches a company using web requests as a tool",
            {"ai.agent"},
        ),
        (
            "when a webhook arrives, run a Python script that scores each lead",
            {"trigger.webhook", "code.python"},
        ),
        ("compute a checksum of every row with a small JavaScript function", {"code.javascript"}),
    ],
)
async def test_candidates_hold_the_needed_types(
    index: NodeIndex, description: str, expected: set[str]
) -> None:
    chosen = await index.candidates(description, top_k=8)
    types = [c.type for c in chosen]
    assert expected <= set(types), types
    assert len(types) == len(set(types))
    assert len(types) < len(index.entries)  # a slice, not the catalog


async def test_triggers_and_core_logic_are_always_offered(index: NodeIndex) -> None:
    chosen = {c.type: c for c in await index.candidates("cache the rates in Redis", top_k=3)}
    triggers = {t for t, e in index.entries.items() if e["category"] == "trigger"}
    assert triggers | set(ALWAYS_INCLUDED) <= set(chosen)
    assert chosen["redis.command"].reason in ("similar", "named")


async def test_similar_types_rank_first(index: NodeIndex) -> None:
    ranked = await index.rank("post a message to a Slack channel")
    assert ranked[0].type == "slack.message"
    assert ranked[0].score > ranked[-1].score


async def test_vectors_are_cached_per_catalog(index: NodeIndex, node_catalog) -> None:
    first = await index.vectors()
    again = NodeIndex(node_catalog, index.embedder)
    assert await again.vectors() is first
    changed = [dict(e) for e in node_catalog]
    changed[0]["description"] = "Something else entirely."
    other = NodeIndex(changed, index.embedder)
    assert await other.vectors() is not first


def test_clauses_split_the_steps() -> None:
    assert clauses("fetch the page, summarise it and then post it to Slack") == [
        "fetch the page",
        "summarise it",
        "post it to Slack",
    ]
