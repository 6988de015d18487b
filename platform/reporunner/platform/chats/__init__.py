"""Chat threads with agents (streamed turns, history, citations) and agent memories."""

from reporunner.platform.chats.memories import delete_memory, list_memories, memory_store
from reporunner.platform.chats.providers import llm_provider, memory_provider, registry_provider
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
    create_chat,
    get_chat,
    list_chats,
    list_messages,
    node_services,
    run_turn,
    start_turn,
)

__all__ = [
    "ChatCreate",
    "ChatOut",
    "ChatPage",
    "MemoryOut",
    "MemoryPage",
    "MessageIn",
    "MessageOut",
    "MessagePage",
    "Turn",
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
    "registry_provider",
    "run_turn",
    "start_turn",
]
