"""The document reaper: no document stays ``queued``, ``parsing`` or ``embedding`` forever.

An ``ingest_document`` job claims its document (``queued`` → ``parsing``) and refreshes the
row's ``heartbeat_at`` every ``settings.heartbeat_seconds`` while it runs; when it ends, the
row's ``ingested_hash`` records the content it was for, and a later job for that same content
(arq retrying the job of a dead worker, an hour on) does nothing (a re-embed does the
same for every unsettled document of its base). Every worker runs :func:`reap_documents` next
to the executions reaper:

* a ``parsing``/``embedding`` document whose heartbeat and ``updated_at`` are both older than
  ``settings.reap_after_seconds`` lost its worker: it goes back to ``queued`` with a new job
  (ingestion reuses the vectors of unchanged chunks, so a retry is cheap), at most
  :data:`MAX_INGEST_ATTEMPTS` times; then it is ``failed`` with the reason;
* a ``queued`` document just as stale with no ``ingest_document`` job in arq (Redis lost it),
  or only one a worker took and died with before it claimed the document, gets a new job.

Each change is published as the pipeline's ``document.progress`` event. The updates are
conditional (``FOR UPDATE SKIP LOCKED``), so several workers' reapers never act twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.exceptions import RedisError
from sqlalchemy import text

from reporunner.knowledge import IngestProgress
from reporunner.platform.executions.reaper import drop_dead_job, run_every
from reporunner.platform.knowledge.events import progress_event, publish_event
from reporunner.platform.resources import Resources

__all__ = [
    "MAX_INGEST_ATTEMPTS",
    "DocumentReap",
    "claim_document",
    "hand_back_documents",
    "heartbeat",
    "ingest_job_id",
    "reap_documents",
    "settle_document",
    "touch_documents",
    "worker_stopped_reason",
]

log = logging.getLogger("reporunner.knowledge")

MAX_INGEST_ATTEMPTS = 3
"""Ingestion runs of one document that may end with a dead worker before it is failed."""

_JOB_PREFIX = "kb-ingest:"
_BATCH = 200
_UNSETTLED = "('queued', 'parsing', 'embedding')"
_OURS = "(queue IS NULL OR queue = :queue)"
"""Documents last claimed from this worker's queue (or never claimed): another queue's
documents are its own workers' to reap."""
_STALE = "greatest(heartbeat_at, updated_at) < now() - make_interval(secs => :after)"


def worker_stopped_reason(times: int = MAX_INGEST_ATTEMPTS) -> str:
    """The ``error`` of a document the reaper gave up on."""
    return (
        f"the worker stopped while ingesting this document {times} times (killed, out of "
        "memory?); check the worker logs, then upload the document again"
    )


def ingest_job_id(document_id: uuid.UUID | str, content_hash: str, tag: str) -> str:
    """An ``ingest_document`` job id (every one starts with ``kb-ingest:<document id>:``)."""
    return f"{_JOB_PREFIX}{document_id}:{content_hash}:{tag}"


@dataclass(slots=True)
class DocumentReap:
    """What one reaper pass did."""

    requeued: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)


async def claim_document(resources: Resources, document_id: uuid.UUID) -> None:
    """A job starts on its document: heartbeat now, and ``queued`` → ``parsing`` (so that a
    job that dies before its first progress report leaves a document the reaper sees)."""
    async with resources.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE documents SET heartbeat_at = now(), updated_at = now(), queue = :queue, "
                "status = CASE WHEN status = 'queued' THEN 'parsing' ELSE status END "
                f"WHERE id = :id AND status IN {_UNSETTLED}"
            ),
            {"id": document_id, "queue": resources.settings.queue_name},
        )


async def settle_document(resources: Resources, document_id: uuid.UUID, content_hash: str) -> None:
    """After a job: a document that ended ``ready``/``failed`` records the content it was for
    and starts its attempts anew."""
    async with resources.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE documents SET ingest_attempts = 0, heartbeat_at = NULL, "
                "ingested_hash = :hash WHERE id = :id AND status IN ('ready', 'failed')"
            ),
            {"id": document_id, "hash": content_hash},
        )


async def hand_back_documents(
    resources: Resources,
    document_ids: Sequence[uuid.UUID] = (),
    *,
    knowledge_base_id: uuid.UUID | None = None,
) -> int:
    """The worker stops mid-ingestion: ``parsing``/``embedding`` → ``queued`` at once (these
    documents, or every one of a base being re-embedded).

    arq runs the cancelled job again on the next worker (ingestion reuses the vectors of
    unchanged chunks), so this is no lost attempt; the reaper does the same, later and
    counting one, if this write fails. Returns how many documents were handed back.
    """
    params: dict[str, Any]
    if knowledge_base_id is not None:
        where, params = "knowledge_base_id = :kb", {"kb": knowledge_base_id}
    else:
        where, params = "id = ANY(:ids)", {"ids": list(document_ids)}
    async with resources.engine.begin() as conn:
        rows = (
            await conn.execute(
                text(
                    "UPDATE documents SET status = 'queued', heartbeat_at = now(), "
                    f"updated_at = now() WHERE {where} AND status IN ('parsing', 'embedding') "
                    "RETURNING id, knowledge_base_id, status, error, chunks_done, chunks_total"
                ),
                params,
            )
        ).all()
    for row in rows:
        log.info("document %s handed back to the queue (worker stopping)", row.id)
        await _publish(resources, row)
    return len(rows)


async def touch_documents(
    resources: Resources,
    document_ids: Sequence[uuid.UUID] = (),
    *,
    knowledge_base_id: uuid.UUID | None = None,
) -> int:
    """Refresh the heartbeat of unsettled documents (these ids, or all of a base)."""
    params: dict[str, Any]
    if knowledge_base_id is not None:
        where, params = "knowledge_base_id = :kb", {"kb": knowledge_base_id}
    else:
        where, params = "id = ANY(:ids)", {"ids": list(document_ids)}
    async with resources.engine.begin() as conn:
        result = await conn.execute(
            text(
                f"UPDATE documents SET heartbeat_at = now() WHERE {where} "
                f"AND status IN {_UNSETTLED}"
            ),
            params,
        )
    return int(getattr(result, "rowcount", 0) or 0)


@contextlib.asynccontextmanager
async def heartbeat(
    resources: Resources,
    document_ids: Sequence[uuid.UUID] = (),
    *,
    knowledge_base_id: uuid.UUID | None = None,
) -> AsyncIterator[None]:
    """Keep the documents' heartbeat fresh while the block runs (see :func:`touch_documents`)."""

    async def beat() -> None:
        await touch_documents(resources, document_ids, knowledge_base_id=knowledge_base_id)

    task = asyncio.create_task(
        run_every(resources.settings.heartbeat_seconds, beat, "document heartbeat")
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _enqueue(resources: Resources, document_id: uuid.UUID, content_hash: str) -> bool:
    try:
        await resources.arq.enqueue_job(
            "ingest_document",
            str(document_id),
            content_hash=content_hash,
            _job_id=ingest_job_id(document_id, content_hash, f"reaped-{uuid.uuid4().hex[:8]}"),
        )
    except (RedisError, OSError) as err:  # Redis away: one line, the next pass tries again
        log.warning("could not queue document %s again (%s); next pass", document_id, err)
        return False
    return True


async def _publish(resources: Resources, row: Any) -> None:
    event = IngestProgress(row.id, row.status, row.chunks_done, row.chunks_total, row.error)
    await publish_event(
        resources.redis, row.knowledge_base_id, progress_event(row.knowledge_base_id, event)
    )


async def _requeue_stale(resources: Resources, report: DocumentReap) -> None:
    """``parsing``/``embedding`` documents whose worker stopped: queue again, or fail."""
    async with resources.engine.begin() as conn:
        rows = (
            await conn.execute(
                text(
                    "UPDATE documents d SET "
                    "status = CASE WHEN d.ingest_attempts + 1 >= :max "
                    "THEN 'failed' ELSE 'queued' END, "
                    "error = CASE WHEN d.ingest_attempts + 1 >= :max THEN :reason END, "
                    "ingest_attempts = CASE WHEN d.ingest_attempts + 1 >= :max "
                    "THEN 0 ELSE d.ingest_attempts + 1 END, "
                    "ingested_hash = CASE WHEN d.ingest_attempts + 1 >= :max "
                    "THEN d.content_hash ELSE d.ingested_hash END, "
                    "heartbeat_at = now(), updated_at = now() "
                    "FROM (SELECT id FROM documents WHERE status IN ('parsing', 'embedding') "
                    f"AND {_STALE} AND {_OURS} ORDER BY updated_at LIMIT {_BATCH} "
                    "FOR UPDATE SKIP LOCKED) stale WHERE d.id = stale.id "
                    "RETURNING d.id, d.knowledge_base_id, d.content_hash, d.status, d.error, "
                    "d.chunks_done, d.chunks_total, d.ingest_attempts"
                ),
                {
                    "max": MAX_INGEST_ATTEMPTS,
                    "reason": worker_stopped_reason(),
                    "after": resources.settings.reap_after_seconds,
                    "queue": resources.settings.queue_name,
                },
            )
        ).all()
    for row in rows:
        if row.status == "failed":
            log.warning("document %s: %s", row.id, row.error)
            report.failed.append(row.id)
        else:
            log.warning(
                "document %s lost its worker (attempt %d); queueing it again",
                row.id,
                row.ingest_attempts,
            )
            await _enqueue(resources, row.id, row.content_hash)
            report.requeued.append(row.id)
        await _publish(resources, row)


async def _job_names(resources: Resources, key_prefix: str) -> set[str]:
    """``<document id>:<hash>:<tag>`` of the ingest jobs that have a ``key_prefix`` key."""
    names: set[str] = set()
    prefix = f"{key_prefix}{_JOB_PREFIX}"
    async for key in resources.redis.scan_iter(match=f"{prefix}*", count=1000):
        name = key.decode() if isinstance(key, bytes) else str(key)
        names.add(name[len(prefix) :])
    return names


async def _pending_jobs(resources: Resources) -> tuple[set[str], dict[str, list[str]]]:
    """Ids of the documents with an ``ingest_document`` job in arq (on any queue) that no
    worker has taken, and the ids of the taken ("in progress") jobs by document. A job taken
    for a document that is still ``queued`` as long after as the reaper looks was taken by a
    worker that died before its claim (a job's first statements): it would stay "in progress"
    for the whole job timeout, so it does not count."""
    jobs = await _job_names(resources, job_key_prefix)
    taken = await _job_names(resources, in_progress_key_prefix)
    pending = {name.split(":", 1)[0] for name in jobs - taken}
    dead: dict[str, list[str]] = {}
    for name in jobs & taken:
        dead.setdefault(name.split(":", 1)[0], []).append(_JOB_PREFIX + name)
    return pending, dead


async def _enqueue_orphans(resources: Resources, report: DocumentReap) -> None:
    """Stale ``queued`` documents without a job: queue one (a job still waiting in arq keeps
    its document; the heartbeat is refreshed so that it is looked at again later)."""
    params = {
        "after": resources.settings.reap_after_seconds,
        "queue": resources.settings.queue_name,
    }
    async with resources.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    f"SELECT id FROM documents WHERE status = 'queued' AND {_STALE} "
                    f"AND {_OURS} ORDER BY updated_at LIMIT {_BATCH}"
                ),
                params,
            )
        ).all()
    if not rows:
        return
    pending, dead = await _pending_jobs(resources)
    waiting = [row.id for row in rows if str(row.id) in pending]
    lost = [row.id for row in rows if str(row.id) not in pending]
    async with resources.engine.begin() as conn:
        if waiting:
            await _touch_in(conn, waiting)
        taken = (
            await conn.execute(
                text(
                    "UPDATE documents SET heartbeat_at = now() WHERE id = ANY(:ids) "
                    f"AND status = 'queued' AND {_STALE} AND {_OURS} RETURNING id, content_hash"
                ),
                {**params, "ids": lost},
            )
        ).all()
    for row in taken:
        log.warning("document %s is queued without a job; queueing one", row.id)
        if str(row.id) in dead:  # taken by a worker that died before it claimed the document
            await drop_dead_job(resources, *dead[str(row.id)])
        if await _enqueue(resources, row.id, row.content_hash):
            report.requeued.append(row.id)


async def _touch_in(conn: Any, document_ids: Iterable[uuid.UUID]) -> None:
    await conn.execute(
        text(
            "UPDATE documents SET heartbeat_at = now() WHERE id = ANY(:ids) "
            f"AND status IN {_UNSETTLED}"
        ),
        {"ids": list(document_ids)},
    )


async def reap_documents(resources: Resources) -> DocumentReap:
    """One document reaper pass (see the module doc); the whole database, every base."""
    report = DocumentReap()
    await _requeue_stale(resources, report)
    await _enqueue_orphans(resources, report)
    return report
