"""One turn at a time per chat thread, across every API process (a Redis lock).

Two messages posted to the same thread at once would both answer from the same history and
interleave their stored turns. The second one gets 409 instead, and can be sent again once the
first turn's ``final`` (or ``error``) event arrived. The lock lives in Redis with a short TTL that
a running turn keeps extending, so a crashed API process frees the thread within that TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from dataclasses import dataclass, field

import anyio
from redis.asyncio import Redis

from reporunner.nodes.errors import ConflictError

__all__ = ["TURN_LOCK_TTL_S", "TurnLock", "acquire_turn"]

TURN_LOCK_TTL_S = 90
"""Seconds a turn's lock outlives its last extension (a running turn extends it every third)."""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


def _key(chat_id: uuid.UUID) -> str:
    return f"reporunner:chat-turn:{chat_id}"


@dataclass
class TurnLock:
    """A held turn lock; :meth:`keep_alive` extends it until :meth:`release`."""

    redis: Redis
    chat_id: uuid.UUID
    token: str
    _keeper: asyncio.Task[None] | None = field(default=None, repr=False)

    def keep_alive(self) -> None:
        """Extend the lock every ``TURN_LOCK_TTL_S / 3`` seconds while the turn runs."""
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep())

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(TURN_LOCK_TTL_S / 3)
            await self.redis.eval(  # type: ignore[misc]
                _EXTEND, 1, _key(self.chat_id), self.token, str(TURN_LOCK_TTL_S * 1000)
            )

    async def release(self) -> None:
        """Free the thread (only if this turn still holds it).

        Shielded: a turn ends early because its client hung up and the request is being
        cancelled, and the thread must be freed then too, not at the lock's expiry."""
        with anyio.CancelScope(shield=True):
            if self._keeper is not None:
                self._keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._keeper
                self._keeper = None
            await self.redis.eval(_RELEASE, 1, _key(self.chat_id), self.token)  # type: ignore[misc]


async def acquire_turn(redis: Redis, chat_id: uuid.UUID) -> TurnLock:
    """Take the thread's turn lock.

    Raises:
        ConflictError: another turn of this thread is still running.
    """
    token = secrets.token_hex(16)
    taken = await redis.set(_key(chat_id), token, nx=True, px=TURN_LOCK_TTL_S * 1000)
    if not taken:
        raise ConflictError(
            f"chat '{chat_id}' is still answering the previous message; wait for its 'final' "
            "(or 'error') event, then send this message again"
        )
    return TurnLock(redis, chat_id, token)
