"""API bodies of ``/schedules``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ScheduleOut", "ScheduleUpdate"]


class ScheduleOut(BaseModel):
    id: uuid.UUID = Field(description="Schedule id.")
    workflow_id: uuid.UUID = Field(description="Workflow it starts.")
    node_id: str = Field(description="Its trigger.schedule node.")
    cron: str = Field(description="Cron expression (from the published version).")
    timezone: str = Field(description="IANA time zone the cron is read in.")
    missed_policy: Literal["skip", "run_once"] = Field(
        description="After downtime: 'skip' missed ticks, or 'run_once' for the latest of them."
    )
    enabled: bool = Field(description="False when the workflow is unpublished or archived.")
    paused: bool = Field(description="True while a member has paused it: no tick fires.")
    next_fire_at: datetime | None = Field(description="Next tick (UTC).")
    last_fired_at: datetime | None = Field(description="Last tick that started a run.")


class ScheduleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    missed_policy: Literal["skip", "run_once"] | None = Field(
        default=None, description="What to do with ticks missed while no scheduler ran."
    )
    paused: bool | None = Field(
        default=None,
        description="True pauses the schedule (no tick fires); false resumes it from the next "
        "tick after now (ticks that fell in the pause never fire).",
    )

    @model_validator(mode="after")
    def _something(self) -> ScheduleUpdate:
        if self.missed_policy is None and self.paused is None:
            raise ValueError("give missed_policy, paused or both")
        return self
