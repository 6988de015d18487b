"""Request and response models of the copilot API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reporunner.platform.workflows.schemas import VersionOut, WorkflowOut

__all__ = [
    "EditOut",
    "EditRequest",
    "ExplanationOut",
    "GenerateOut",
    "GenerateRequest",
    "MissingCredentialOut",
    "PatchRequest",
    "StatusOut",
    "ThreadCreate",
    "ThreadMessageOut",
    "ThreadOut",
    "TurnOut",
    "TurnRequest",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusOut(_Model):
    """Whether the copilot can answer, and if not what to set."""

    configured: bool = Field(description="A default model is set and its provider key found.")
    model: str | None = Field(description="The default model (REPORUNNER_LLM_MODEL), if set.")
    detail: str | None = Field(
        description="When not configured: one line naming the setting to set."
    )


class GenerateRequest(_Model):
    """What to build."""

    description: str = Field(
        min_length=3,
        max_length=4000,
        description="The workflow in plain language, e.g. 'every morning at 8 fetch the Hacker "
        "News front page, summarise the top 5 stories and post the summary to Slack'.",
    )
    dry_run: bool = Field(
        False, description="Only return the definition; do not save it as a new workflow."
    )
    model: str | None = Field(
        None, description="litellm model to use instead of the configured default."
    )
    max_repairs: int = Field(
        3, ge=0, le=5, description="Rounds in which validation problems go back to the model."
    )


class ExplanationOut(_Model):
    """What one node does."""

    node_id: str = Field(description="Node id in the definition.")
    node_type: str = Field(description="Its node type.")
    explanation: str = Field(description="One sentence on what it does in this workflow.")


class MissingCredentialOut(_Model):
    """A credential the user still has to create and bind to a node."""

    node_id: str = Field(description="The node that needs it.")
    node_type: str = Field(description="Its node type.")
    credential_type: str = Field(
        description="Credential type to create (see GET /credential-types) and bind in the "
        "node's 'credentials' instead of the placeholder."
    )


class GenerateOut(_Model):
    """A generated, valid workflow."""

    definition: dict[str, Any] = Field(description="The workflow definition (valid).")
    summary: str = Field(description="What the workflow does.")
    explanations: list[ExplanationOut] = Field(description="One per node, in node order.")
    missing_credentials: list[MissingCredentialOut] = Field(
        description="Credentials still to supply; their bindings hold a placeholder."
    )
    attempts: int = Field(description="Answers the model needed (1 = valid at once).")
    candidate_types: list[str] = Field(description="Node types offered to the model.")
    workflow: WorkflowOut | None = Field(
        None, description="The saved workflow (absent on a dry run)."
    )
    version: VersionOut | None = Field(
        None, description="Its draft version 1, not published (absent on a dry run)."
    )


class EditRequest(_Model):
    """How to change a workflow."""

    instruction: str = Field(
        min_length=2,
        max_length=4000,
        description="The change in plain language, e.g. 'also send it by email'.",
    )
    version: int | None = Field(
        None, ge=1, description="Version to change (default: the latest version)."
    )
    apply: bool = Field(
        False, description="Save the change as a new version right away (else only propose it)."
    )
    model: str | None = Field(
        None, description="litellm model to use instead of the configured default."
    )
    max_repairs: int = Field(
        3, ge=0, le=5, description="Rounds in which validation problems go back to the model."
    )


class EditOut(_Model):
    """A proposed (or applied) change."""

    base_version: int = Field(description="Number of the version the patch applies to.")
    patch: list[dict[str, Any]] = Field(
        description="JSON Patch (RFC 6902) turning the base version into 'definition'."
    )
    definition: dict[str, Any] = Field(description="The changed definition (valid).")
    summary: str = Field(description="The change in words.")
    explanations: list[ExplanationOut] = Field(description="One per node of the result.")
    missing_credentials: list[MissingCredentialOut] = Field(
        description="Credentials new nodes still need."
    )
    attempts: int = Field(description="Answers the model needed.")
    version: VersionOut | None = Field(
        None, description="The new version when 'apply' was set (else absent)."
    )


class PatchRequest(_Model):
    """Apply a JSON Patch (e.g. one proposed by /edit) as a new version."""

    base_version: int = Field(ge=1, description="Version the patch was written against.")
    patch: list[dict[str, Any]] = Field(
        min_length=1, description="JSON Patch (RFC 6902) operations."
    )
    note: str = Field("", max_length=500, description="What changed (stored on the version).")


class ThreadCreate(_Model):
    """A refinement chat about one workflow."""

    title: str = Field("", max_length=300, description="Title shown in thread lists.")


class ThreadOut(_Model):
    """A copilot chat thread bound to a workflow."""

    id: uuid.UUID = Field(description="Thread id.")
    workflow_id: uuid.UUID = Field(description="The workflow the thread refines.")
    title: str = Field(description="Title.")
    created_at: datetime = Field(description="When it was created.")


class TurnRequest(_Model):
    """One instruction in a refinement chat."""

    message: str = Field(
        min_length=2, max_length=4000, description="The change, e.g. 'only on weekdays'."
    )
    apply: bool = Field(
        False, description="Save the thread's result so far as a new version right away."
    )
    model: str | None = Field(
        None, description="litellm model to use instead of the configured default."
    )
    max_repairs: int = Field(
        3, ge=0, le=5, description="Rounds in which validation problems go back to the model."
    )


class TurnOut(EditOut):
    """The thread's proposal after this turn: every change of the thread so far, as one patch
    against ``base_version``."""

    thread_id: uuid.UUID = Field(description="The thread.")


class ThreadMessageOut(_Model):
    """One message of a copilot thread."""

    role: str = Field(description="'user' (an instruction) or 'assistant' (a proposal).")
    content: str = Field(description="The instruction, or the summary of the change.")
    proposal: dict[str, Any] | None = Field(
        None, description="For assistant messages: base_version, patch, definition, version."
    )
    created_at: datetime = Field(description="When it was sent.")
