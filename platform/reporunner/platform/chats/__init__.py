"""Chat threads with agents (turns answered on workers, streamed; history, citations) and agent
memories."""

from reporunner.platform.chats.memories import delete_memory, list_memories, memory_store
from reporunner.platform.chats.providers import llm_provider, memory_provider, registry_provider
from reporunner.platform.chats.runner import process_turn
from reporunner.platform.chats.schemas import (
    ChatCreate,
    ChatOut,
    ChatPage,
    MemoryOut,
    MemoryPage,
    MessageIn,
    MessageOut,
    MessagePage,
)
from reporunner.platform.chats.service import (
    Turn,
    check_turn,
    create_chat,
    get_chat,
    list_chats,
    list_messages,
    node_services,
    run_turn,
    start_turn,
    turn_events,
)
from reporunner.platform.chats.turns import TURN_JOB, TurnWorker, beat_turns, reap_turns

__all__ = [
    "TURN_JOB",
    "ChatCreate",
    "ChatOut",
    "ChatPage",
    "MemoryOut",
    "MemoryPage",
    "MessageIn",
    "MessageOut",
    "MessagePage",
    "Turn",
    "TurnWorker",
    "beat_turns",
    "check_turn",
    "create_chat",
    "delete_memory",
    "get_chat",
    "list_chats",
    "list_memories",
    "list_messages",
    "llm_provider",
    "memory_provider",
    "memory_store",
    "node_services",
    "process_turn",
    "reap_turns",
    "registry_provider",
    "run_turn",
    "start_turn",
    "turn_events",
]
