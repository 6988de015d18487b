"""Pick the node types a description needs, so the prompt carries a slice of the catalog.

With hundreds of node types the whole catalog does not fit a prompt (today's 38 built-ins are
already ~80 kB of JSON). Each catalog entry is embedded once (type, name and description) with
the local MiniLM model; a description is embedded and the nearest types are taken, plus the
types whose distinctive name words it mentions ("post it to Slack" → ``slack.message`` even
when the embedding ranks it low), plus the triggers and the core logic nodes, which almost
every workflow needs and which are small. Vectors are cached per catalog content and embedding
model, so a registry that does not change is embedded once per process.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ALWAYS_INCLUDED",
    "HINTS",
    "Candidate",
    "NodeIndex",
    "QueryEmbedder",
    "clauses",
    "default_embedder",
    "entry_text",
]

ALWAYS_INCLUDED: tuple[str, ...] = (
    "data.set",
    "logic.filter",
    "logic.if",
    "logic.loop",
    "logic.merge",
    "logic.noop",
    "logic.switch",
)
"""Core logic types offered with every description (the triggers are offered as well)."""

_GENERIC_WORDS = frozenset(
    {"ai", "data", "logic", "message", "trigger", "read", "send", "query", "command", "execute",
     "set", "keys", "out", "respond", "request", "search", "code"}
)  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")

HINTS: Mapping[str, tuple[str, ...]] = {
    "ai.agent": ("agent", "assistant", "tools", "research"),
    "ai.classify": ("classify", "categorise", "categorize", "sentiment", "triage", "label"),
    "ai.llm": ("llm", "gpt", "summarise", "summarize", "summary", "translate", "draft", "ai",
               "answer", "answers", "questions", "write", "writes"),
    "code.javascript": ("js", "node.js", "typescript"),
    "code.python": ("script", "snippet"),
    "data.csv": ("csv", "spreadsheet"),
    "data.dedupe": ("duplicate", "duplicates", "dedupe", "unique"),
    "email.send": ("email", "mail", "e-mail", "inbox"),
    "http.request": ("api", "fetch", "url", "endpoint", "website", "download", "rest", "http"),
    "human.approval": ("approve", "approval", "approves", "sign-off", "review"),
    "knowledge.search": ("knowledge", "docs", "documentation", "handbook", "rag", "faq"),
    "logic.wait": ("wait", "delay", "pause"),
    "postgres.query": ("database", "sql", "table", "postgres", "postgresql", "db"),
    "redis.command": ("cache", "redis", "counter"),
    "rss.read": ("rss", "feed", "blog", "atom", "podcast"),
    "trigger.chat": ("chat", "chatbot", "conversation"),
    "trigger.schedule": ("every", "daily", "hourly", "weekly", "morning", "cron", "nightly"),
    "trigger.webhook": ("webhook", "form", "submission", "incoming"),
}  # fmt: skip
"""Words that name a node type in plain language, where a small embedding model misses it
("store it in our database" → ``postgres.query``); types that are not registered are ignored."""


class QueryEmbedder(Protocol):
    """What retrieval needs of an embedder (``reporunner.knowledge.Embedder`` fits)."""

    @property
    def model_name(self) -> str:
        """Name of the model (part of the cache key)."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One normalised vector per text."""
        ...

    async def embed_query(self, text: str) -> list[float]:
        """The vector of one query."""
        ...


def default_embedder() -> QueryEmbedder:
    """The shared local all-MiniLM-L6-v2 (offline) from ``reporunner.knowledge``."""
    from reporunner.knowledge import DEFAULT_EMBEDDING_MODEL, embedder_for

    return embedder_for(DEFAULT_EMBEDDING_MODEL)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node type offered to the model, and why.

    Attributes:
        type: Node type name.
        score: Cosine similarity of its entry to the description.
        reason: ``similar``, ``named`` (the description mentions it), or ``always``.
    """

    type: str
    score: float
    reason: str


def entry_text(entry: Mapping[str, Any]) -> str:
    """The text a catalog entry is embedded as: type words, display name and description."""
    words = str(entry["type"]).replace(".", " ").replace("_", " ")
    return f"{words}: {entry.get('display_name', '')}. {entry.get('description', '')}"


_CLAUSE_SPLIT = re.compile(
    r"[,;.:!?]+\s*|\s+(?:and then|then|and|after that|afterwards|otherwise|else|if|when|"
    r"unless|but|before|finally)\s+",
    re.IGNORECASE,
)


def clauses(description: str) -> list[str]:
    """The steps of a description: split at punctuation and joining words, short bits dropped."""
    parts = (p.strip() for p in _CLAUSE_SPLIT.split(description))
    return [p for p in parts if len(p.split()) >= 2]


def _name_words(type_: str) -> set[str]:
    return {w for w in _WORD.findall(type_.lower()) if w not in _GENERIC_WORDS and len(w) > 2}


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


_CACHE: dict[tuple[str, str], list[list[float]]] = {}
_CACHE_LOCK = threading.Lock()


def _catalog_key(entries: Sequence[Mapping[str, Any]]) -> str:
    texts = [(e["type"], e.get("version"), entry_text(e)) for e in entries]
    return hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()


class NodeIndex:
    """Embedded catalog entries, searchable by a workflow description.

    Args:
        entries: Catalog entries (``reporunner.nodes.catalog.catalog(registry)``).
        embedder: Embeds the entries and the descriptions (the local MiniLM when None).
    """

    def __init__(
        self, entries: Sequence[Mapping[str, Any]], embedder: QueryEmbedder | None = None
    ) -> None:
        self.entries = {str(e["type"]): dict(e) for e in entries}
        self._embedder = embedder
        self._key = _catalog_key(entries)
        self._vectors: list[list[float]] | None = None

    @property
    def embedder(self) -> QueryEmbedder:
        """The embedder in use (loaded on first use)."""
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    async def vectors(self) -> list[list[float]]:
        """One vector per entry, in ``entries`` order (cached per catalog content and model)."""
        if self._vectors is None:
            key = (self.embedder.model_name, self._key)
            with _CACHE_LOCK:
                cached = _CACHE.get(key)
            if cached is None:
                cached = await self.embedder.embed([entry_text(e) for e in self.entries.values()])
                with _CACHE_LOCK:
                    _CACHE[key] = cached
            self._vectors = cached
        return self._vectors

    def _always(self) -> list[str]:
        triggers = [t for t, e in self.entries.items() if e.get("category") == "trigger"]
        return [*triggers, *(t for t in ALWAYS_INCLUDED if t in self.entries)]

    def named(self, description: str) -> list[str]:
        """Types whose distinctive name words appear in ``description`` (``slack``, ``rss``)."""
        text = description.lower()
        words = set(_WORD.findall(text))
        words |= {w[:-1] for w in words if w.endswith("s")}
        found = []
        for type_ in self.entries:
            hints = HINTS.get(type_, ())
            if _name_words(type_) & words or any(
                (h in words) if h.isalnum() else (h in text) for h in hints
            ):
                found.append(type_)
        return found

    async def rank(self, description: str) -> list[Candidate]:
        """Every type, most similar to ``description`` first."""
        query = await self.embedder.embed_query(description)
        vectors = await self.vectors()
        scored = [
            Candidate(t, _cosine(query, v), "similar")
            for t, v in zip(self.entries, vectors, strict=True)
        ]
        return sorted(scored, key=lambda c: (-c.score, c.type))

    async def candidates(
        self, description: str, top_k: int = 10, per_clause: int = 3
    ) -> list[Candidate]:
        """The types to offer for ``description``: the ``top_k`` most similar to the whole, the
        ``per_clause`` most similar to each clause ("fetch the page", "post it to Slack": one
        step each, which the whole text dilutes), the named ones, the triggers and the core
        logic types (each once, most relevant first)."""
        ranked = await self.rank(description)
        scores = {c.type: c.score for c in ranked}
        chosen: dict[str, Candidate] = {}
        for candidate in ranked[:top_k]:
            chosen[candidate.type] = candidate
        parts = clauses(description)
        if len(parts) > 1:
            for part in parts:
                for candidate in (await self.rank(part))[:per_clause]:
                    if candidate.type not in chosen:
                        chosen[candidate.type] = Candidate(
                            candidate.type, scores[candidate.type], "similar"
                        )
        for type_ in self.named(description):
            chosen.setdefault(type_, Candidate(type_, scores[type_], "named"))
        for type_ in self._always():
            chosen.setdefault(type_, Candidate(type_, scores[type_], "always"))
        order = {"similar": 0, "named": 1, "always": 2}
        return sorted(chosen.values(), key=lambda c: (order[c.reason], -c.score, c.type))

    async def candidate_entries(self, description: str, top_k: int = 10) -> list[dict[str, Any]]:
        """The catalog entries of :meth:`candidates`, in the same order."""
        return [self.entries[c.type] for c in await self.candidates(description, top_k)]
