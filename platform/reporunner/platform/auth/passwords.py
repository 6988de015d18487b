"""Passwords of browser sign-in: argon2id via ``argon2-cffi``.

Hashing costs tens of milliseconds of CPU by design, so both functions run in a worker thread
and never stall the event loop. A sign-in for an unknown address still verifies against a dummy
hash, so the answer takes as long as for a known one (no address enumeration by timing).
"""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "hash_password", "verify_password"]

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused before hashing (argon2 over megabytes is a denial of service)."""

_HASHER = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults
_DUMMY = _HASHER.hash("reporunner-dummy-password")


async def hash_password(password: str) -> str:
    """The argon2id hash (PHC string, salt included) of ``password``."""
    return await anyio.to_thread.run_sync(_HASHER.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; always False (after equal work) for None."""
    return await anyio.to_thread.run_sync(_verify, stored, password)
