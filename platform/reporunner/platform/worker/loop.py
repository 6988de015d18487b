"""The worker's main loop: arq's, woken up instead of polling, and stoppable without repeats.

arq's own loop looks at the queue every ``poll_delay`` seconds, so a job waits for the next look
(up to the whole delay) before it starts. :class:`WakingWorker` also pops the ids of jobs due now
from the queue's ready list (:func:`~reporunner.platform.executions.queue.ready_key`, filled by
the enqueue) whenever it has a free slot, and claims each popped job at once: one worker, one
pop and one claim per job, where waking every worker made all of them read the queue and race
for the job. The poll stays as a fallback for deferred jobs and ids that were dropped or lost.

Stopping (:meth:`WakingWorker.stop`, on SIGTERM/SIGINT): no new job is taken, running jobs get
``grace`` seconds to end, and the ones still running then are cancelled, which hands their
execution back to the queue (``reporunner.platform.executions.job_runner``) for another worker to
continue from its last checkpoint; then ``main`` returns. A lost Redis does not end the loop:
it logs one line, retries every second, and logs one line when Redis answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from reporunner.platform.executions.queue import ready_key

__all__ = ["CLAIM_SCRIPT", "STOPPING_KEY", "WakingWorker", "worker_stopping"]

log = logging.getLogger("reporunner.worker")

_LISTENER_EXIT_SECONDS = 10.0
_POP_TIMEOUT_SECONDS = 1
"""How long one ``BLPOP`` of the ready list blocks (the loop checks for a stop in between)."""
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
STOPPING_KEY = "worker_stopping"
"""``ctx`` key of an ``asyncio.Event`` set when the worker stops (before it cancels jobs)."""


def worker_stopping(ctx: dict[str, Any]) -> bool:
    """Whether a job's cancellation is the worker stopping (not a timeout): hand work back."""
    event = ctx.get(STOPPING_KEY)
    return isinstance(event, asyncio.Event) and event.is_set()


CLAIM_SCRIPT = """
if redis.call('exists', KEYS[1]) == 1 then return false end
local score = redis.call('zscore', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('psetex', KEYS[1], ARGV[3], '1')
return score
"""
"""Mark a queued job in progress unless it is running, gone or not due; returns its score.
KEYS: in-progress key, queue; ARGV: job id, now (ms), in-progress timeout (ms)."""


class WakingWorker(Worker):
    """arq's worker with a wake-up channel, a graceful stop and survival of a Redis outage.

    Args:
        on_exit: Awaited however ``main`` ends (stops the background tasks of ``on_startup``;
            arq runs ``on_shutdown`` only from ``close()``, which a burst worker never calls).
        **kwargs: arq's ``Worker`` arguments.
    """

    def __init__(self, *, on_exit: Callable[[dict[str, Any]], Awaitable[None]], **kwargs: Any):
        super().__init__(**kwargs)
        self._on_exit = on_exit
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._starved = False
        self._stopping = False
        self._redis_down = False
        self.ready = asyncio.Event()
        """Set once start-up is done and the worker takes jobs (``serve``'s ``/readyz``)."""
        # each job gets a copy of ctx: a shared event tells it that its cancellation is a stop
        self.ctx[STOPPING_KEY] = asyncio.Event()

    # -- waking up
    def wake(self) -> None:
        """Look at the queue now."""
        self._wake.set()

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._room.set()  # the listener may pop the next ready job
        if self._starved:  # a job was left in the queue for want of a slot: read it again
            self._starved = False
            self._wake.set()

    async def _wait_for_room(self) -> None:
        while self.job_counter >= self.max_jobs and not self._stopping:
            self._room.clear()
            await self._room.wait()

    async def _listen(self) -> None:
        """Pop ready job ids while a slot is free and claim each at once (see the module doc)."""
        key = ready_key(self.queue_name)
        while not self._stopping:
            await self._wait_for_room()
            if self._stopping:
                return
            try:
                popped = await self.pool.blpop([key], timeout=_POP_TIMEOUT_SECONDS)  # type: ignore[misc]
            except asyncio.CancelledError:
                raise
            except _REDIS_DOWN as err:  # said once, by whichever loop sees it first
                self._lost_redis(err)
                await asyncio.sleep(1.0)
                continue
            except Exception:  # listen again later; the poll loop finds the jobs meanwhile
                await asyncio.sleep(1.0)
                continue
            self._redis_back()  # a job may start from here before the poll loop looks again
            if popped is None:
                continue
            job_id: bytes = popped[1]
            if self._stopping or not self.allow_pick_jobs:
                with contextlib.suppress(Exception):  # for another worker (or the next poll)
                    await self.pool.lpush(key, job_id)  # type: ignore[misc]
                return
            if not job_id:  # a plain wake-up (``wake_workers``): read the queue
                self._wake.set()
                continue
            try:
                await self.start_jobs([job_id])
            except asyncio.CancelledError:
                raise
            except Exception:  # the job stays queued: the poll finds it
                await asyncio.sleep(1.0)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's ``start_jobs`` with the claim in one Lua script (:data:`CLAIM_SCRIPT`): one
        round trip per job instead of arq's ``WATCH``/``EXISTS``/``ZSCORE``/``MULTI``... four,
        with the same guarantee (a job runs in one worker at a time)."""
        claim = self.pool.register_script(CLAIM_SCRIPT)
        timeout_ms = int(self.in_progress_timeout_s * 1000)
        if len(job_ids) > 1:
            job_ids = await self._not_running(job_ids)
        for job_id_b in job_ids:
            job_id = job_id_b.decode()
            if job_id in self.tasks:
                continue
            await self.sem.acquire()
            if self.job_counter >= self.max_jobs:
                self.sem.release()
                self._starved = True
                return
            self.job_counter += 1
            score = await claim(
                keys=[in_progress_key_prefix + job_id, self.queue_name],
                args=[job_id, timestamp_ms(), timeout_ms],
            )
            if score is None:  # running elsewhere, finished, or deferred by now
                self.job_counter -= 1
                self.sem.release()
                self._room.set()
                continue
            task = self.loop.create_task(self.run_job(job_id, int(float(score))))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task

    async def _not_running(self, job_ids: list[bytes]) -> list[bytes]:
        """The poll's ids less those running here or on another worker, in one round trip:
        a busy queue holds every running job too (arq keeps it there until it ends), and a
        claim tried on each of them would cost a round trip per running job per poll."""
        mine = [j for j in job_ids if j.decode() not in self.tasks]
        if not mine:
            return []
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id_b in mine:
                pipe.exists(in_progress_key_prefix + job_id_b.decode())
            running = await pipe.execute()
        return [j for j, busy in zip(mine, running, strict=True) if not busy]

    # -- the loop
    async def main(self) -> None:
        try:
            await self._main()
        finally:
            await self._on_exit(self.ctx)

    async def _main(self) -> None:
        log.info("worker started for %d job types on %s", len(self.functions), self.queue_name)
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        listener = asyncio.create_task(self._listen())
        self.ready.set()
        try:
            while not self._stopping:
                if not await self._iteration():
                    await asyncio.sleep(1.0)
                    continue
                if self.burst and await self._burst_done():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_delay_s)
                self._wake.clear()
            # stopping: the running jobs end (or are handed back by ``stop``) before the
            # checkpointer and the background tasks go away
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        finally:
            listener.cancel()
            # bounded: a listener stuck closing its connection must not keep the worker up
            _, stuck = await asyncio.wait([listener], timeout=_LISTENER_EXIT_SECONDS)
            if stuck:
                log.error("worker exit: the wake-up listener did not end; leaving it behind")

    async def _iteration(self) -> bool:
        """One look at the queue; False while Redis does not answer (logged once)."""
        try:
            await self._poll_iteration()
        except _REDIS_DOWN as err:
            self._lost_redis(err)
            return False
        self._redis_back()
        return True

    def _lost_redis(self, err: BaseException) -> None:
        """One line per outage, from the poll loop or the ready-list listener."""
        if not self._redis_down:
            self._redis_down = True
            log.error("worker lost Redis (%s); retrying every second", err)

    def _redis_back(self) -> None:
        if self._redis_down:
            self._redis_down = False
            log.warning("worker reconnected to Redis")

    async def _burst_done(self) -> bool:
        if 0 <= self.max_burst_jobs <= self._jobs_started():
            await asyncio.gather(*self.tasks.values())
            return True
        if await self.pool.zcard(self.queue_name) == 0:
            await asyncio.gather(*self.tasks.values())
            return True
        return False

    # -- stopping
    async def stop(self, grace: float) -> None:
        """Take no new job, give running jobs ``grace`` seconds, cancel (hand back) the rest,
        and end ``main``."""
        self.allow_pick_jobs = False
        self._stopping = True
        self.ctx[STOPPING_KEY].set()
        self._wake.set()
        self._room.set()
        running = [t for t in self.tasks.values() if not t.done()]
        if running:
            log.info("worker stopping: %d running job(s) get %gs to end", len(running), grace)
            await asyncio.wait(running, timeout=grace)
        left = [t for t in self.tasks.values() if not t.done()]
        if left:
            log.warning("worker stopping: handing %d job(s) back to the queue", len(left))
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    async def close(self) -> None:
        """Release arq's pool state; jobs are already done or handed back by :meth:`stop`."""
        if not self._stopping:
            await self.stop(0)
        with contextlib.suppress(*_REDIS_DOWN):
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
