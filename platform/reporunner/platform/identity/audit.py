"""The audit log: who changed what, readable by admins.

Services write entries in the same transaction as the change they record (so an entry exists
exactly when the change does); :func:`list_audit` reads them newest first with a keyset cursor.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import Problem, ValidationFailed
from reporunner.platform.auth import Principal
from reporunner.platform.db.models import AuditLog
from reporunner.platform.identity.schemas import AuditEntryOut, AuditPage
from reporunner.platform.logs import client_address_var

__all__ = ["audit_entry", "list_audit"]

MAX_PAGE = 200


def audit_entry(
    principal: Principal,
    action: str,
    target_type: str,
    target_id: object | None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """An audit row acted by ``principal`` (add it to the session of the change it records);
    made during an API request, it records the client's address as ``data.ip``."""
    data = dict(data or {})
    address = client_address_var.get()
    if address and "ip" not in data:
        data["ip"] = address
    return AuditLog(
        workspace_id=principal.workspace_id,
        actor_user_id=principal.user_id,
        actor_api_key_id=principal.api_key_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        data=data,
    )


def _encode(row: AuditLog) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        stamp, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValidationFailed(
            "the cursor is not one this API returned; pass next_cursor unchanged",
            problems=[Problem("/cursor", "invalid_cursor", str(err))],
        ) from err


def _out(row: AuditLog) -> AuditEntryOut:
    return AuditEntryOut(
        id=row.id,
        created_at=row.created_at,
        action=row.action,
        actor_user_id=row.actor_user_id,
        actor_api_key_id=row.actor_api_key_id,
        target_type=row.target_type,
        target_id=row.target_id,
        data=row.data,
    )


async def list_audit(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    actions: list[str] | None = None,
    actor_user_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AuditPage:
    """Audit entries of one workspace, newest first.

    Args:
        session: Open session.
        workspace_id: The caller's workspace.
        actions: Keep these actions only; an entry ending in ``.*`` matches a prefix
            (``member.*``).
        actor_user_id: Keep what this user did (with a session or any of their keys).
        since: Inclusive lower bound of ``created_at``.
        until: Exclusive upper bound of ``created_at``.
        cursor: ``next_cursor`` of the previous page.
        limit: Page size (1..200).
    """
    limit = max(1, min(limit, MAX_PAGE))
    query = select(AuditLog).where(AuditLog.workspace_id == workspace_id)
    if actions:
        exact = [a for a in actions if not a.endswith(".*")]
        prefixes = [a[:-1] for a in actions if a.endswith(".*")]
        query = query.where(
            or_(
                AuditLog.action.in_(exact),
                *(AuditLog.action.startswith(p, autoescape=True) for p in prefixes),
            )
        )
    if actor_user_id is not None:
        query = query.where(AuditLog.actor_user_id == actor_user_id)
    if since is not None:
        query = query.where(AuditLog.created_at >= since)
    if until is not None:
        query = query.where(AuditLog.created_at < until)
    if cursor:
        stamp, ident = _decode(cursor)
        query = query.where(
            or_(
                AuditLog.created_at < stamp,
                and_(AuditLog.created_at == stamp, AuditLog.id < ident),
            )
        )
    query = query.order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars().all())
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[_out(r) for r in rows], next_cursor=_encode(rows[-1]) if more and rows else None
    )
