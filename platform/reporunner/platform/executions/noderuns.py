"""``NodeRunBuffer``: node-run rows written in batches, off the execution's critical path.

The engine reports each node run twice (started, ended). Writing each report as its own
transaction cost two commits per node on the path from request to answer. The buffer keeps the
current state of every row and upserts the rows that changed in one statement, from a
background task, as soon as the previous write is done (or ``delay`` seconds later): a node that
runs long still gets its ``running`` row at once, a short node usually gets one write with its
end state. :meth:`NodeRunBuffer.flush` writes what is left (the execution's outcome is written in
the same transaction, see ``executions.job_runner``). A write that fails is retried by the next one.

What a killed worker may lose: the rows of the node runs of the last write that did not reach the
database (one round trip's worth). In the ``durable`` mode those nodes are not run again
(their results are checkpointed); in the ``fast`` mode they run again and get new rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reporunner.platform.db.models.workflows import NodeRun
from reporunner.platform.db.session import transaction

__all__ = ["NodeRunBuffer"]

log = logging.getLogger("reporunner.executions")

_NO_FSYNC_WAIT = text("SET LOCAL synchronous_commit TO OFF")
"""Node-run rows do not wait for the WAL flush: they are the record, not the progress (the
checkpoint is), and a Postgres crash costs at most the last fraction of a second of them."""

_UPDATED = (
    "attempt",
    "status",
    "output",
    "output_truncated",
    "error",
    "finished_at",
    "duration_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
)


_UPSERT: list[Any] = []


def _upsert() -> Any:
    """``INSERT ... ON CONFLICT (id) DO UPDATE`` of node-run rows, built once: executed with a
    list of rows (``executemany``, one pipelined round trip), so SQLAlchemy compiles it once,
    where a multi-row ``VALUES`` of the rows themselves was compiled anew for every batch (a
    sixth of a busy worker's time)."""
    if not _UPSERT:
        table = cast(Table, NodeRun.__table__)
        statement = insert(table)
        _UPSERT.append(
            statement.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={name: statement.excluded[name] for name in _UPDATED},
            )
        )
    return _UPSERT[0]


class NodeRunBuffer:
    """The node-run rows of one execution, written in the background.

    Args:
        sessions: Session factory of the platform database.
        execution_id: Whose rows (for log lines).
        delay: Seconds to wait after a change before writing (0: as soon as possible).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        execution_id: uuid.UUID,
        delay: float = 0.0,
    ) -> None:
        self.sessions = sessions
        self.execution_id = execution_id
        self.delay = delay
        self._rows: dict[uuid.UUID, dict[str, Any]] = {}
        self._dirty: set[uuid.UUID] = set()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def put(self, row_id: uuid.UUID, values: dict[str, Any]) -> None:
        """Set (or update) row ``row_id`` and have it written soon."""
        row = self._rows.setdefault(row_id, {"id": row_id})
        row.update(values)
        self._dirty.add(row_id)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while self._dirty:
            await self._wake.wait()
            self._wake.clear()
            if self.delay:
                await asyncio.sleep(self.delay)
            if not await self._write(None):
                await asyncio.sleep(1.0)  # the database is away: try again, not in a tight loop

    def has_running(self) -> bool:
        """Whether a row of this buffer still says ``running``."""
        return any(row.get("status") == "running" for row in self._rows.values())

    async def flush(self, session: AsyncSession | None = None) -> bool:
        """Write every pending row now (inside ``session``'s transaction if given).

        Returns:
            False when the write failed (the rows stay pending).
        """
        return await self._write(session)

    async def close(self) -> None:
        """Stop the background writer after a last :meth:`flush`."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _write(self, session: AsyncSession | None) -> bool:
        async with self._lock:
            if not self._dirty:
                return True
            ids = list(self._dirty)
            self._dirty.clear()
            rows = [_complete(self._rows[i]) for i in ids]
            statement = _upsert()
            try:
                if session is not None:
                    await session.execute(statement, rows)
                else:
                    async with transaction(self.sessions) as own:
                        await own.execute(_NO_FSYNC_WAIT)
                        await own.execute(statement, rows)
            except Exception:
                self._dirty.update(ids)
                log.warning(
                    "could not record node runs of %s (will retry)",
                    self.execution_id,
                    exc_info=True,
                )
                return False
            for i in ids:
                if self._rows[i].get("status") != "running" and i not in self._dirty:
                    del self._rows[i]
            return True


_DEFAULTS: dict[str, Any] = {
    "attempt": 1,
    "output": None,
    "output_truncated": False,
    "error": None,
    "finished_at": None,
    "duration_ms": None,
    "tokens_in": 0,
    "tokens_out": 0,
    "cost_usd": 0,
}


def _complete(row: dict[str, Any]) -> dict[str, Any]:
    """Every column set (a multi-row INSERT needs the same keys in every row)."""
    return {**_DEFAULTS, **row}
