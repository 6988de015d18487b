"""Agent memory: thread history windowing (short-term) and semantic memories (long-term)."""

from reporunner.agents.memory.history import HistoryWindow, count_tokens, window_history
from reporunner.agents.memory.service import (
    MEMORY,
    MemoryRecord,
    MemoryScope,
    MemoryService,
    SqlMemoryStore,
    forget_memory,
    list_memories,
)

__all__ = [
    "MEMORY",
    "HistoryWindow",
    "MemoryRecord",
    "MemoryScope",
    "MemoryService",
    "SqlMemoryStore",
    "count_tokens",
    "forget_memory",
    "list_memories",
    "window_history",
]
