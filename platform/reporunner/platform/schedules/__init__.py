"""Schedules: rows kept in sync with published ``trigger.schedule`` nodes, and the scheduler."""

from reporunner.platform.schedules.loop import (
    LOCK_NAME,
    PassResult,
    SchedulerHandle,
    due_ticks,
    run_scheduler,
    scheduler_pass,
    start_scheduler,
)
from reporunner.platform.schedules.schemas import ScheduleOut, ScheduleUpdate
from reporunner.platform.schedules.service import list_schedules, update_schedule
from reporunner.platform.workflows.schedule_sync import (
    reconcile_schedules,
    schedule_nodes,
    set_missed_policy,
    sync_workflow_schedules,
)

__all__ = [
    "LOCK_NAME",
    "PassResult",
    "ScheduleOut",
    "ScheduleUpdate",
    "SchedulerHandle",
    "due_ticks",
    "list_schedules",
    "reconcile_schedules",
    "run_scheduler",
    "schedule_nodes",
    "scheduler_pass",
    "set_missed_policy",
    "start_scheduler",
    "sync_workflow_schedules",
    "update_schedule",
]
