"""Request and response models of the executions API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ExecutionOut",
    "ExecutionPage",
    "NodeRunOut",
    "ResumeRequest",
    "RunRequest",
]

ExecutionStatus = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRequest(_Model):
    """Body of ``POST /workflows/{id}/executions``."""

    input: dict[str, Any] = Field(
        default_factory=dict, description="The trigger item ({{ trigger }} in expressions)."
    )
    version: int | None = Field(
        default=None, ge=1, description="Version number to run (default: published, else latest)."
    )
    idempotency_key: str | None = Field(
        default=None,
        max_length=200,
        description="Runs with the same key (per workflow) return the first execution instead "
        "of starting another.",
    )


class ResumeRequest(_Model):
    """Body of ``POST /executions/{id}/resume``."""

    payload: Any = Field(
        description="The answer handed to the waiting node, e.g. {'approved': true}; not null."
    )


class NodeRunOut(_Model):
    """One run of one node."""

    id: uuid.UUID = Field(description="Node run id.")
    node_id: str = Field(description="Node id in the definition.")
    node_type: str = Field(description="Node type.")
    status: str = Field(
        description="running, succeeded, failed, or interrupted (cut off by a lost worker or "
        "parked waiting for input; it runs again as a new node run)."
    )
    attempt: int = Field(description="Attempts made (retries + 1).")
    input: dict[str, Any] | None = Field(description="Input items by port (size-bounded).")
    output: dict[str, Any] | None = Field(description="Output items by port (size-bounded).")
    output_truncated: bool = Field(description="True when the output was cut to the limit.")
    error: dict[str, Any] | None = Field(description="The error of the last failed attempt.")
    started_at: datetime = Field(description="When the run started.")
    finished_at: datetime | None = Field(description="When it ended.")
    duration_ms: float | None = Field(description="How long it took.")
    tokens_in: int = Field(description="LLM input tokens used.")
    tokens_out: int = Field(description="LLM output tokens used.")
    cost_usd: float = Field(description="LLM cost in USD.")


class ExecutionOut(_Model):
    """One execution."""

    id: uuid.UUID = Field(description="Execution id.")
    workflow_id: uuid.UUID = Field(description="Workflow it runs.")
    version_id: uuid.UUID = Field(description="Exact version it runs.")
    status: ExecutionStatus = Field(description="Where it stands.")
    trigger_type: str = Field(description="What started it (manual, webhook, schedule...).")
    trigger: dict[str, Any] = Field(description="The trigger item.")
    result: dict[str, Any] | None = Field(description="For succeeded runs: final_items.")
    error: dict[str, Any] | None = Field(description="For failed/cancelled runs: what happened.")
    waiting_payload: dict[str, Any] | None = Field(
        description="For waiting runs: what the waiting node asks (e.g. an approval form)."
    )
    parent_execution_id: uuid.UUID | None = Field(description="Execution that started it.")
    attempts: int = Field(description="How often a worker picked it up.")
    cancel_requested: bool = Field(description="True once cancellation was asked for.")
    tokens_in: int = Field(description="LLM input tokens of all node runs.")
    tokens_out: int = Field(description="LLM output tokens of all node runs.")
    cost_usd: float = Field(description="LLM cost of all node runs in USD.")
    created_at: datetime = Field(description="When it was queued.")
    started_at: datetime | None = Field(description="When a worker first started it.")
    finished_at: datetime | None = Field(description="When it ended.")
    node_runs: list[NodeRunOut] | None = Field(
        default=None, description="Node runs in start order (on GET of one execution)."
    )


class ExecutionPage(_Model):
    """A page of executions, newest first."""

    items: list[ExecutionOut] = Field(description="Executions of this page.")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")
