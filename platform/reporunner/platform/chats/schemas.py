"""Request and response models of ``/chats`` and ``/memories``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reporunner.agents.agent import AgentSpec

__all__ = [
    "ChatCreate",
    "ChatOut",
    "ChatPage",
    "MemoryOut",
    "MemoryPage",
    "MessageIn",
    "MessageOut",
    "MessagePage",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatCreate(_Model):
    """A new chat thread, bound to an agent configuration or to a chat workflow."""

    title: str = Field(default="", max_length=300, description="Shown in chat lists.")
    agent_id: str = Field(
        default="assistant",
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Name of the agent; its long-term memories are kept under this name.",
    )
    agent: AgentSpec | None = Field(
        default=None, description="Agent configuration (model, prompt, tools, memory...)."
    )
    workflow_id: uuid.UUID | None = Field(
        default=None, description="A workflow that starts with a Chat trigger (instead of agent)."
    )
    end_user_id: str = Field(
        default="",
        max_length=200,
        description="The person chatting (scopes memories); the caller's user id when empty.",
    )
    credentials: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description=(
            'Workspace credentials the agent uses, by type: {"api_key": "<credential id>"} '
            "gives the model provider's key (else the server environment's key is used)."
        ),
    )

    @model_validator(mode="after")
    def _one_target(self) -> ChatCreate:
        if (self.agent is None) == (self.workflow_id is None):
            raise ValueError("give exactly one of 'agent' (a configuration) or 'workflow_id'")
        if self.credentials and self.agent is None:
            raise ValueError(
                "'credentials' bind to an agent chat; a chat workflow's nodes bind their own"
            )
        return self


class ChatOut(_Model):
    """A chat thread."""

    id: uuid.UUID = Field(description="Chat id.")
    title: str = Field(description="Title.")
    agent_id: str | None = Field(description="Agent name (memory scope).")
    agent: dict[str, Any] | None = Field(description="Agent configuration, if agent-bound.")
    workflow_id: uuid.UUID | None = Field(description="Workflow, if workflow-bound.")
    end_user_id: str = Field(description="The person chatting.")
    credentials: dict[str, str] = Field(description="Bound credential ids by type (no secrets).")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="Last message time.")


class ChatPage(_Model):
    """Chat threads, the most recently active first."""

    items: list[ChatOut] = Field(description="Threads.")


class MessageIn(_Model):
    """A user message."""

    content: str = Field(min_length=1, max_length=100_000, description="What the user says.")


class MessageOut(_Model):
    """A stored message of a thread."""

    id: uuid.UUID = Field(description="Message id.")
    role: Literal["user", "assistant", "tool", "system"] = Field(description="Who wrote it.")
    content: str = Field(description="Text.")
    tool_calls: list[dict[str, Any]] | None = Field(description="Tool calls of the turn.")
    citations: list[dict[str, Any]] | None = Field(
        description="Knowledge passages cited (document, page, heading, chunk id)."
    )
    execution_id: uuid.UUID | None = Field(description="Execution of a workflow-bound turn.")
    tokens_in: int = Field(description="LLM input tokens of the turn.")
    tokens_out: int = Field(description="LLM output tokens of the turn.")
    cost_usd: float = Field(description="LLM cost of the turn in USD.")
    created_at: datetime = Field(description="When it was written.")


class MessagePage(_Model):
    """A thread's history, oldest first."""

    items: list[MessageOut] = Field(description="Messages.")


class MemoryOut(_Model):
    """A long-term memory of an agent about an end user."""

    id: uuid.UUID = Field(description="Memory id.")
    agent_id: str = Field(description="Agent that remembers.")
    end_user_id: str = Field(description="Whom it is about.")
    text: str = Field(description="The remembered fact.")
    created_at: datetime | None = Field(description="When it was stored.")


class MemoryPage(_Model):
    """Memories, newest first."""

    items: list[MemoryOut] = Field(description="Memories.")
