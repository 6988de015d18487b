"""Request and response models of the workflows API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ProblemOut",
    "ValidationOut",
    "VersionOut",
    "VersionSummary",
    "WorkflowCreated",
    "WorkflowOut",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionSummary(_Out):
    """A version without its definition (for lists)."""

    id: uuid.UUID = Field(description="Version id (executions record it).")
    number: int = Field(description="1 for the first version, then counting up.")
    content_hash: str = Field(description="SHA-256 of the canonical definition.")
    note: str = Field(description="What changed, as given when it was saved.")
    created_at: datetime = Field(description="When it was saved.")
    published: bool = Field(description="True for the workflow's published version.")


class VersionOut(VersionSummary):
    """A version with its definition."""

    definition: dict[str, Any] = Field(description="The workflow definition (immutable).")
    created: bool = Field(
        default=False,
        description="On save: False when the definition equals the latest version's, which is "
        "returned instead of a copy.",
    )


class WorkflowOut(_Out):
    """A workflow and where its versions stand."""

    id: uuid.UUID = Field(description="Workflow id.")
    name: str = Field(description="Name (from the latest version's definition).")
    description: str = Field(description="Description (from the latest version's definition).")
    latest_version: int | None = Field(description="Number of the newest version.")
    published_version: int | None = Field(description="Number of the published version.")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When a version was last saved or published.")
    archived: bool = Field(description="Archived workflows are hidden from lists and not run.")


class ProblemOut(_Out):
    """One problem of a definition."""

    pointer: str = Field(description="JSON pointer into the definition ('' = the whole).")
    code: str = Field(description="Machine-readable kind, e.g. 'unknown_port'.")
    message: str = Field(description="What is wrong and what to fix.")


class ValidationOut(_Out):
    """Result of a dry-run validation."""

    valid: bool = Field(description="True when the definition can be saved and run.")
    content_hash: str | None = Field(description="Its content hash, when it parses.")
    problems: list[ProblemOut] = Field(description="Every problem found (empty when valid).")


class WorkflowCreated(_Out):
    """A new workflow with its first version."""

    workflow: WorkflowOut = Field(description="The workflow.")
    version: VersionOut = Field(description="Its version 1.")
