"""Executions: the queue, the worker-side runner, node-run records, events, heartbeat/reaper.

Other parts start runs with :func:`start_execution` (webhooks, schedules, chat) and offer
engine services to nodes with a :data:`ServiceProvider`; the worker hands the runner the list
(:data:`reporunner.platform.worker.node_services.PROVIDERS`), so this package names none of
the packages above it.
"""

from reporunner.platform.executions.db_hooks import USAGE_EVENT, DatabaseHooks, EventSink
from reporunner.platform.executions.events import Event, channel, follow, publish_event, stream_key
from reporunner.platform.executions.job_runner import WorkerState, process_execution
from reporunner.platform.executions.node_services import (
    RunInfo,
    ServiceProvider,
    WorkspaceServiceProvider,
    build_services,
)
from reporunner.platform.executions.queue import JOB_NAME, enqueue_execution
from reporunner.platform.executions.reaper import reap_once
from reporunner.platform.executions.schemas import (
    ExecutionOut,
    ExecutionPage,
    NodeRunOut,
    ResumeRequest,
    RunRequest,
)
from reporunner.platform.executions.service import (
    cancel_execution,
    execution_now,
    get_execution,
    list_executions,
    resume_execution,
    retry_execution,
    start_execution,
    wait_for_execution,
)

__all__ = [
    "JOB_NAME",
    "USAGE_EVENT",
    "DatabaseHooks",
    "Event",
    "EventSink",
    "ExecutionOut",
    "ExecutionPage",
    "NodeRunOut",
    "ResumeRequest",
    "RunInfo",
    "RunRequest",
    "ServiceProvider",
    "WorkerState",
    "WorkspaceServiceProvider",
    "build_services",
    "cancel_execution",
    "channel",
    "enqueue_execution",
    "execution_now",
    "follow",
    "get_execution",
    "list_executions",
    "process_execution",
    "publish_event",
    "reap_once",
    "resume_execution",
    "retry_execution",
    "start_execution",
    "stream_key",
    "wait_for_execution",
]
