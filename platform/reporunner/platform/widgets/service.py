"""Widgets for admins (create, list, update, delete) and what visitors may do with one.

A widget is bound to one workflow of its workspace, which must be published and start with a
Chat trigger (checked when the widget is saved and again on every visitor message: unpublishing
the workflow silences its widgets). A visitor is an anonymous chat thread of that workflow;
the signed token (:mod:`~reporunner.platform.widgets.visitors`) names the thread, and every
read or turn checks that the thread belongs to this widget's workflow and visitor scope.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ConflictError, NotFoundError, Problem, ValidationFailed
from reporunner.platform.auth import Principal
from reporunner.platform.chats import ChatCreate, MessageIn, Turn, create_chat, start_turn
from reporunner.platform.db.models import ChatMessage, ChatThread, ChatWidget
from reporunner.platform.db.session import transaction
from reporunner.platform.identity.audit import audit_entry
from reporunner.platform.resources import Resources
from reporunner.platform.widgets.origins import validate_origins
from reporunner.platform.widgets.schemas import (
    PublicMessage,
    VisitorHistory,
    WidgetColors,
    WidgetConfig,
    WidgetCreate,
    WidgetOut,
    WidgetPage,
    WidgetUpdate,
)
from reporunner.platform.widgets.visitors import Visitor, VisitorTokenInvalid
from reporunner.platform.workflows.service import load_version

__all__ = [
    "create_widget",
    "delete_widget",
    "get_widget",
    "list_widgets",
    "new_visitor_thread",
    "public_config",
    "public_widget",
    "start_visitor_turn",
    "update_widget",
    "visitor_history",
]


def snippet(base_url: str, public_id: str) -> str:
    """The one script tag a site pastes."""
    return f'<script src="{base_url.rstrip("/")}/widget.js" data-chat="{public_id}" defer></script>'


def _audited(row: ChatWidget) -> dict[str, Any]:
    return {
        "name": row.name,
        "public_id": row.public_id,
        "workflow_id": str(row.workflow_id),
        "allowed_origins": list(row.allowed_origins),
    }


def _out(row: ChatWidget, base_url: str) -> WidgetOut:
    return WidgetOut(
        id=row.id,
        public_id=row.public_id,
        name=row.name,
        workflow_id=row.workflow_id,
        allowed_origins=list(row.allowed_origins),
        greeting=row.greeting,
        colors=WidgetColors.model_validate(row.colors or {}),
        messages_per_minute=row.messages_per_minute,
        visitors_per_minute=row.visitors_per_minute,
        enabled=row.enabled,
        snippet=snippet(base_url, row.public_id),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _check_workflow(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID, pointer: str
) -> None:
    """The workflow exists here, is published, not archived and starts with a Chat trigger."""
    workflow, version = await load_version(session, workspace_id, workflow_id)
    if workflow.published_version_id is None or workflow.archived_at is not None:
        raise ValidationFailed(
            "a widget chats with a published workflow: publish a version of it first",
            [Problem(pointer, "not_published", "the workflow has no published version")],
        )
    types = [n.get("type") for n in version.definition.get("nodes", [])]
    if "trigger.chat" not in types:
        raise ValidationFailed(
            "a widget's workflow must start with a Chat trigger (trigger.chat)",
            [Problem(pointer, "no_chat_trigger", "the published version has no trigger.chat")],
        )


async def create_widget(
    session: AsyncSession, principal: Principal, data: WidgetCreate, base_url: str
) -> WidgetOut:
    """Create a widget with a fresh public id (audited as ``widget.created``).

    Raises:
        NotFoundError: the workflow is not one of this workspace.
        ValidationFailed: an origin is not exact, or the workflow is not a published chat
            workflow.
    """
    workspace_id = principal.workspace_id
    origins = validate_origins(data.allowed_origins)
    await _check_workflow(session, workspace_id, data.workflow_id, "/workflow_id")
    row = ChatWidget(
        workspace_id=workspace_id,
        public_id="wg_" + secrets.token_urlsafe(16),
        name=data.name,
        workflow_id=data.workflow_id,
        allowed_origins=origins,
        greeting=data.greeting,
        colors=data.colors.model_dump(exclude_none=True),
        messages_per_minute=data.messages_per_minute,
        visitors_per_minute=data.visitors_per_minute,
        enabled=data.enabled,
        created_by=principal.user_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    session.add(audit_entry(principal, "widget.created", "widget", row.id, _audited(row)))
    return _out(row, base_url)


async def _row(session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID) -> ChatWidget:
    row = await session.scalar(
        select(ChatWidget).where(
            ChatWidget.id == widget_id, ChatWidget.workspace_id == workspace_id
        )
    )
    if row is None:
        raise NotFoundError(f"widget '{widget_id}' does not exist in this workspace")
    return row


async def get_widget(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, base_url: str
) -> WidgetOut:
    """One widget. Raises NotFoundError for another workspace's widget."""
    return _out(await _row(session, workspace_id, widget_id), base_url)


async def list_widgets(session: AsyncSession, workspace_id: uuid.UUID, base_url: str) -> WidgetPage:
    """The workspace's widgets, newest first."""
    rows = await session.scalars(
        select(ChatWidget)
        .where(ChatWidget.workspace_id == workspace_id)
        .order_by(ChatWidget.created_at.desc(), ChatWidget.id)
    )
    return WidgetPage(items=[_out(r, base_url) for r in rows])


async def update_widget(
    session: AsyncSession,
    principal: Principal,
    widget_id: uuid.UUID,
    data: WidgetUpdate,
    base_url: str,
) -> WidgetOut:
    """Change the given fields (same checks as :func:`create_widget`; ``widget.updated``)."""
    workspace_id = principal.workspace_id
    row = await _row(session, workspace_id, widget_id)
    given = data.model_fields_set
    if data.allowed_origins is not None:
        row.allowed_origins = validate_origins(data.allowed_origins)
    if data.workflow_id is not None:
        await _check_workflow(session, workspace_id, data.workflow_id, "/workflow_id")
        row.workflow_id = data.workflow_id
    if data.colors is not None:
        row.colors = data.colors.model_dump(exclude_none=True)
    for name in ("name", "greeting", "messages_per_minute", "visitors_per_minute", "enabled"):
        value = getattr(data, name)
        if name in given and value is not None:
            setattr(row, name, value)
    row.updated_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(row)
    audited = {**_audited(row), "changed": sorted(data.model_fields_set)}
    session.add(audit_entry(principal, "widget.updated", "widget", row.id, audited))
    return _out(row, base_url)


async def delete_widget(session: AsyncSession, principal: Principal, widget_id: uuid.UUID) -> None:
    """Delete a widget; its public id stops working at once (visitor threads stay)."""
    row = await _row(session, principal.workspace_id, widget_id)
    session.add(audit_entry(principal, "widget.deleted", "widget", row.id, _audited(row)))
    await session.delete(row)


# -- visitors ------------------------------------------------------------------------------


async def public_widget(resources: Resources, public_id: str) -> ChatWidget:
    """The enabled widget ``public_id`` (detached: read its columns, change nothing).

    Raises:
        NotFoundError: no such widget, or it is disabled.
    """
    async with transaction(resources.sessions) as session:
        row = await _public_widget(session, public_id)
        session.expunge(row)
    return row


async def _public_widget(session: AsyncSession, public_id: str) -> ChatWidget:
    row = await session.scalar(select(ChatWidget).where(ChatWidget.public_id == public_id))
    if row is None or not row.enabled:
        raise NotFoundError(f"widget '{public_id[:60]}' does not exist or is disabled")
    return row


def public_config(row: ChatWidget) -> WidgetConfig:
    """What the embedded script shows."""
    return WidgetConfig(
        public_id=row.public_id,
        name=row.name,
        greeting=row.greeting,
        colors=WidgetColors.model_validate(row.colors or {}),
    )


def _end_user(row: ChatWidget) -> str:
    return f"widget:{row.id}"


async def new_visitor_thread(resources: Resources, row: ChatWidget) -> uuid.UUID:
    """A new anonymous thread of the widget's workflow; its id is the visitor."""
    async with transaction(resources.sessions) as session:
        chat = await create_chat(
            session,
            row.workspace_id,
            row.created_by or uuid.UUID(int=0),
            ChatCreate(
                title=f"widget {row.name}"[:300],
                workflow_id=row.workflow_id,
                end_user_id=f"{_end_user(row)}:{uuid.uuid4().hex}",
            ),
        )
        return chat.id


async def _visitor_thread(session: AsyncSession, row: ChatWidget, visitor: Visitor) -> ChatThread:
    """The visitor's thread, only if it is this widget's and of its current workflow."""
    thread = await session.scalar(
        select(ChatThread).where(
            ChatThread.id == visitor.thread_id,
            ChatThread.workspace_id == row.workspace_id,
            ChatThread.workflow_id == row.workflow_id,
            ChatThread.end_user_id.startswith(_end_user(row) + ":", autoescape=True),
        )
    )
    if thread is None:
        raise VisitorTokenInvalid(
            "this visitor's thread is gone (the widget changed workflow): start a new visitor"
        )
    return thread


async def visitor_history(
    resources: Resources, row: ChatWidget, visitor: Visitor
) -> VisitorHistory:
    """The visitor's own user and assistant messages, oldest first."""
    async with transaction(resources.sessions) as session:
        thread = await _visitor_thread(session, row, visitor)
        rows = await session.scalars(
            select(ChatMessage)
            .where(
                ChatMessage.thread_id == thread.id,
                ChatMessage.workspace_id == row.workspace_id,
                ChatMessage.role.in_(("user", "assistant")),
            )
            .order_by(ChatMessage.created_at, ChatMessage.id)
        )
        items = [
            PublicMessage(id=m.id, role=m.role, content=m.content, created_at=m.created_at)
            for m in rows
        ]
    return VisitorHistory(items=items)


async def start_visitor_turn(
    resources: Resources, public_id: str, visitor: Visitor, content: str
) -> Turn:
    """Start a turn of the widget's workflow on the visitor's thread (the workflow comes from
    the widget row, never from the request).

    Raises:
        NotFoundError: the widget is gone or disabled.
        VisitorTokenInvalid: the thread is not this widget's.
        ConflictError: the workflow is no longer a published chat workflow, or the thread is
            still answering.
    """
    async with transaction(resources.sessions) as session:
        row = await _public_widget(session, public_id)
        thread = await _visitor_thread(session, row, visitor)
        try:
            await _check_workflow(session, row.workspace_id, row.workflow_id, "/workflow_id")
        except (ValidationFailed, NotFoundError) as err:
            raise ConflictError(
                "this widget's workflow is not a published chat workflow any more; an admin "
                "must publish it again"
            ) from err
        workspace_id, chat_id = row.workspace_id, thread.id
    return await start_turn(resources, workspace_id, chat_id, MessageIn(content=content))
