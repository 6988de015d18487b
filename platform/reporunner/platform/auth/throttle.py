"""Failed sign-ins, counted in Redis per account and per client address.

Each bucket counts failures in a window that starts at its first failure (``INCR``, then
``EXPIRE`` when the key has no expiry yet; shared by every API process). Sign-in is refused
with 429 while either bucket is full, even with the right password, so guessing cannot go on
from one address or against one account. A successful sign-in clears the account's bucket.
Redis being down fails open (and logs), like the request rate limits: the limiter protects, it
does not authenticate.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from reporunner.nodes.errors import ReporunnerError
from reporunner.platform.settings import Settings

__all__ = ["SignInThrottle", "SignInThrottled"]

log = logging.getLogger("reporunner.auth.throttle")


class SignInThrottled(ReporunnerError):
    """Too many failed sign-ins for this account or from this address."""

    code = "too_many_sign_in_failures"
    status = 429


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"reporunner:signin-fail:{kind}:{digest}"


@dataclass(frozen=True, slots=True)
class SignInThrottle:
    """The two failure buckets of one sign-in attempt (account = lower-cased e-mail)."""

    redis: Redis
    settings: Settings
    account: str
    ip: str

    def _buckets(self) -> list[tuple[str, int, str]]:
        s = self.settings
        return [
            (_key("account", self.account), s.signin_failures_per_account, "this account"),
            (_key("ip", self.ip), s.signin_failures_per_ip, "your address"),
        ]

    async def check(self) -> None:
        """Raise :class:`SignInThrottled` when a bucket is full."""
        for key, limit, whose in self._buckets():
            if limit <= 0:
                continue
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.get(key)
                    pipe.ttl(key)
                    raw, ttl = await pipe.execute()
            except RedisError:
                log.warning("sign-in limiter unavailable (Redis error); not limiting")
                return
            if raw is not None and int(raw) >= limit:
                wait = max(1, int(ttl))
                raise SignInThrottled(
                    f"too many failed sign-ins for {whose}; try again in {wait}s",
                    retry_after=wait,
                )

    async def failed(self) -> None:
        """Count one failure in both buckets."""
        window = self.settings.signin_failure_window_seconds
        try:
            for key, _limit, _whose in self._buckets():
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.ttl(key)
                    _count, ttl = await pipe.execute()
                if int(ttl) < 0:  # the first failure starts the window
                    await self.redis.expire(key, window)
        except RedisError:
            log.warning("sign-in limiter unavailable (Redis error); failure not counted")

    async def succeeded(self) -> None:
        """Clear the account's bucket (the address keeps its count)."""
        try:
            await self.redis.delete(self._buckets()[0][0])
        except RedisError:
            log.warning("sign-in limiter unavailable (Redis error)")
