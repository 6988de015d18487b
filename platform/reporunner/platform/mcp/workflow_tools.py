"""Published workflows as MCP tools: one tool per workflow that starts with a Manual, Webhook or
Chat trigger, listed and called per caller (the list differs per workspace).

Names: ``wf_<slug of the workflow name>``; when two workflows of a workspace give the same slug,
each of them gets ``_<first 8 hex digits of its id>`` appended, so a name always maps to the same
workflow as long as the set of clashing names stays the same. The input schema follows the
trigger: Manual offers its declared ``input_schema`` param, else an open object (any JSON object
becomes the trigger item; the description says so), Chat takes ``message`` (and an optional
``thread_id``), Webhook takes the request's ``body`` (its declared ``input_schema`` when it has
one), ``query`` and ``headers`` (method and path come from the trigger's params). The published
versions of a workspace are read in one query; a declared schema is enforced when the run
starts (the same check as ``POST /workflows/{id}/executions``), so a bad argument is refused
with the field named.

A call queues the published version like ``run_workflow`` (same role rule: editor) and waits up
to :data:`WAIT_SECONDS` for the run to end; a finished run comes back with its result, a longer
one with its status and id to poll with ``get_execution``.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from reporunner.nodes.errors import NotFoundError
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import service as executions
from reporunner.platform.resources import Resources
from reporunner.platform.workflows import service as workflows

__all__ = [
    "PREFIX",
    "TRIGGER_TYPES",
    "WAIT_SECONDS",
    "WorkflowTool",
    "run_workflow_tool",
    "workflow_tools",
]

PREFIX = "wf_"
TRIGGER_TYPES = ("trigger.manual", "trigger.webhook", "trigger.chat")
WAIT_SECONDS = 30.0
"""How long a workflow tool call waits for its run to end before answering with its status."""

_SLUG_MAX = 56
_OPEN_NOTE = (
    " (Its trigger declares no input schema: the arguments, any JSON object, are the run's "
    "trigger item.)"
)


@dataclass(frozen=True, slots=True)
class WorkflowTool:
    """One published workflow offered as a tool."""

    name: str
    workflow_id: uuid.UUID
    version: int
    trigger_type: str
    trigger_params: dict[str, Any]
    description: str
    input_schema: dict[str, Any]


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:_SLUG_MAX].strip("_")
    return slug or "workflow"


def _entry(definition: dict[str, Any]) -> dict[str, Any] | None:
    """The definition's first Manual, Webhook or Chat trigger node."""
    targets = {e.get("target") for e in definition.get("edges", [])}
    for node in definition.get("nodes", []):
        if node.get("type") in TRIGGER_TYPES and node.get("id") not in targets:
            return dict(node)
    return None


def _schema(trigger_type: str, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The tool's input schema and what its description adds about it."""
    if trigger_type == "trigger.chat":
        return {
            "type": "object",
            "properties": {
                "message": {"type": "string", "minLength": 1, "description": "The user's text."},
                "thread_id": {
                    "type": "string",
                    "description": "Conversation id (the memory key); a new one when omitted.",
                },
            },
            "required": ["message"],
            "additionalProperties": False,
        }, " Chat workflow: send the message."
    declared = params.get("input_schema")
    if trigger_type == "trigger.webhook":
        method, path = params.get("method", "POST"), params.get("path", "")
        body: dict[str, Any] = {"description": "The request body (JSON value or text)."}
        if isinstance(declared, dict):
            body = declared
        return {
            "type": "object",
            "properties": {
                "body": body,
                "query": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Query parameters.",
                },
                "headers": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Request headers.",
                },
            },
            "additionalProperties": False,
        }, f" Webhook workflow ({method} {path}): runs as if that request arrived."
    if isinstance(declared, dict):
        return dict(declared), ""
    return {"type": "object", "additionalProperties": True}, _OPEN_NOTE


async def workflow_tools(resources: Resources, workspace_id: uuid.UUID) -> list[WorkflowTool]:
    """The workspace's published, unarchived workflows that a caller can start, as tools."""
    found: list[tuple[str, uuid.UUID, int, dict[str, Any], str]] = []
    async with transaction(resources.sessions) as session:
        published_versions = await workflows.list_published(session, workspace_id)
    for published in published_versions:
        entry = _entry(published.definition)
        if entry is not None:
            found.append(
                (
                    _slug(published.name),
                    published.workflow_id,
                    published.number,
                    entry,
                    published.description,
                )
            )
    clashes = Counter(slug for slug, *_ in found)
    tools = []
    for slug, wf_id, number, entry, text in found:
        name = PREFIX + (slug if clashes[slug] == 1 else f"{slug}_{wf_id.hex[:8]}")
        params = dict(entry.get("params") or {})
        schema, note = _schema(str(entry["type"]), params)
        described = (text.strip() or f"Run the workflow {slug!r}.") + note
        tools.append(
            WorkflowTool(
                name=name,
                workflow_id=wf_id,
                version=number,
                trigger_type=str(entry["type"]),
                trigger_params=params,
                description=described
                + f" Answers with the execution (waits up to {WAIT_SECONDS:.0f}s for it to end).",
                input_schema=schema,
            )
        )
    return tools


def _trigger_item(tool: WorkflowTool, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
    if tool.trigger_type == "trigger.chat":
        message = arguments.get("message")
        if not isinstance(message, str) or not message:
            raise ValueError(f"{tool.name} needs 'message' (text)")
        thread = arguments.get("thread_id")
        thread_id = thread if isinstance(thread, str) and thread else str(uuid.uuid4())
        return {"message": message, "thread_id": thread_id, "user": None}, "chat"
    if tool.trigger_type == "trigger.webhook":
        unknown = set(arguments) - {"body", "query", "headers"}
        if unknown:
            raise ValueError(f"{tool.name} takes body, query and headers; not {sorted(unknown)}")
        return {
            "method": tool.trigger_params.get("method", "POST"),
            "path": tool.trigger_params.get("path", ""),
            "headers": dict(arguments.get("headers") or {}),
            "query": dict(arguments.get("query") or {}),
            "body": arguments.get("body"),
        }, "webhook"
    return dict(arguments), "manual"


async def run_workflow_tool(
    resources: Resources,
    workspace_id: uuid.UUID,
    name: str,
    arguments: dict[str, Any],
    *,
    wait_seconds: float = WAIT_SECONDS,
) -> dict[str, Any]:
    """Start the workflow behind tool ``name`` and wait (bounded) for its end.

    Raises:
        NotFoundError: no published workflow of the workspace has that tool name.
        ValueError: the arguments do not fit the trigger.
    """
    tools = {t.name: t for t in await workflow_tools(resources, workspace_id)}
    tool = tools.get(name)
    if tool is None:
        raise NotFoundError(
            f"no published workflow of this workspace is the tool {name!r}; list the tools again"
        )
    item, trigger_type = _trigger_item(tool, arguments)
    started = await executions.start_execution(
        resources,
        workspace_id,
        tool.workflow_id,
        item,
        version=tool.version,
        trigger_type=trigger_type,
    )
    out = await executions.wait_for_execution(resources, workspace_id, started.id, wait_seconds)
    answer: dict[str, Any] = {
        "execution_id": str(out.id),
        "workflow_id": str(tool.workflow_id),
        "status": out.status,
        "finished": out.status in executions.TERMINAL,
    }
    if out.status == "succeeded":
        answer["result"] = out.result
    elif out.error is not None:
        answer["error"] = out.error
    elif out.waiting_payload is not None:
        answer["waiting_payload"] = out.waiting_payload
    if out.status in executions.ACTIVE:
        answer["hint"] = "still running: poll get_execution with execution_id"
    return answer
