"""Datasets, scorers, targets and runs of agent evaluations, as the API takes and gives them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAX_CASES",
    "Comparison",
    "DatasetIn",
    "DatasetOut",
    "EvalCase",
    "EvalRunIn",
    "EvalRunOut",
    "Scorer",
    "Target",
]

MAX_CASES = 500
MAX_SCORERS = 10


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scorer(_In):
    """How one answer is scored, from 0 to 1; it passes at ``threshold`` or above."""

    type: Literal["exact", "contains", "regex", "json_schema", "similarity", "judge"] = Field(
        description="'exact': the answer equals the expected value (1 or 0); 'contains': the "
        "answer holds it; 'regex': the pattern in 'expected' (re2) matches the answer; "
        "'json_schema': the answer is JSON valid against the schema in 'expected'; "
        "'similarity': cosine similarity of the answer's and the expected text's embeddings "
        "with the knowledge model; 'judge': a model decides against 'criteria'."
    )
    expected: Any = Field(
        None, description="What to compare with; the case's 'expected' when null."
    )
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Lowest passing score (default 1, or 0.8 for 'similarity').",
    )
    criteria: str | None = Field(
        None, max_length=10_000, description="'judge': what a good answer does, in words."
    )
    model: str | None = Field(
        None, description="'judge': litellm model (REPORUNNER_LLM_MODEL when null)."
    )

    @property
    def passing(self) -> float:
        """The threshold that applies."""
        if self.threshold is not None:
            return self.threshold
        return 0.8 if self.type == "similarity" else 1.0


class EvalCase(_In):
    """One input with what is expected of the answer."""

    name: str | None = Field(None, max_length=200, description="Optional label of the case.")
    input: str | dict[str, Any] = Field(
        description="The message (a string), or the whole trigger item for a workflow."
    )
    expected: Any = Field(None, description="The expected answer (scorers compare with it).")
    scorers: list[Scorer] = Field(
        default_factory=list,
        max_length=MAX_SCORERS,
        description="Scorers of this case; the dataset's when empty.",
    )


class DatasetIn(_In):
    """A dataset: cases and the scorers cases without their own use."""

    name: str = Field(min_length=1, max_length=200, description="Dataset name.")
    description: str = Field("", max_length=10_000, description="What it checks.")
    scorers: list[Scorer] = Field(
        default_factory=lambda: [Scorer(type="contains")],
        max_length=MAX_SCORERS,
        description="Default scorers (a 'contains' of the expected value if absent).",
    )
    cases: list[EvalCase] = Field(
        min_length=1, max_length=MAX_CASES, description="The inputs and expectations."
    )


class DatasetOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    scorers: list[dict[str, Any]]
    cases: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class Target(_In):
    """What is evaluated: a workflow (chat-triggered or any) or an agent configuration."""

    workflow_id: uuid.UUID | None = Field(
        None,
        description="A workflow: its version 'version', else the published one, else the "
        "latest. A chat-triggered one gets {message} like a chat turn.",
    )
    version: int | None = Field(None, ge=1, description="Workflow version number.")
    agent: dict[str, Any] | None = Field(
        None,
        description="An agent configuration (as in POST /chats 'agent': system_prompt, model, "
        "tools...), run as an ai.agent node answering each input.",
    )

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.workflow_id is None) == (self.agent is None):
            raise ValueError("give exactly one of 'workflow_id' and 'agent'")
        return self


class EvalRunIn(_In):
    """Start an evaluation run."""

    dataset_id: uuid.UUID = Field(description="The dataset whose cases run.")
    target: Target = Field(description="What answers them.")
    note: str = Field("", max_length=500, description="A label, e.g. what changed.")


class EvalRunOut(BaseModel):
    id: uuid.UUID
    dataset_id: uuid.UUID
    target: dict[str, Any]
    note: str
    status: str = Field(description="queued, running, succeeded, failed or cancelled.")
    summary: dict[str, Any] | None = Field(
        None,
        description="cases, done, passed, mean_score, tokens_in, tokens_out, cost_usd.",
    )
    results: list[dict[str, Any]] = Field(
        description="Per case: index, name, input, answer, status, scores, passed, tokens "
        "and cost (filled in as cases end)."
    )
    error: dict[str, Any] | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Comparison(BaseModel):
    """Run ``b`` against run ``a`` of the same dataset, case by case."""

    a: uuid.UUID
    b: uuid.UUID
    better: int
    worse: int
    same: int
    mean_score_a: float | None
    mean_score_b: float | None
    cases: list[dict[str, Any]] = Field(
        description="Per case: index, name, score_a, score_b, change (better/worse/same)."
    )
