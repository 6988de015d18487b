"""API keys: ``rr_<prefix>_<secret>``, shown once, stored as a SHA-256 hash.

Keys carry 192 random bits, so a fast hash is enough (there is nothing to brute-force); the
prefix is stored in clear so that users can recognise a key in listings.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

__all__ = ["NewKey", "generate_key", "hash_key", "key_prefix"]


@dataclass(frozen=True, slots=True)
class NewKey:
    plaintext: str
    prefix: str
    hash: str

    def __repr__(self) -> str:
        return f"NewKey(prefix={self.prefix!r}, plaintext=***)"


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def key_prefix(plaintext: str) -> str:
    parts = plaintext.split("_")
    return parts[1][:8] if len(parts) >= 3 and parts[0] == "rr" else plaintext[:8]


def generate_key(plaintext: str | None = None) -> NewKey:
    """A fresh key (or the given one, e.g. ``REPORUNNER_BOOTSTRAP_TOKEN``) with hash and prefix."""
    if plaintext is None:
        plaintext = f"rr_{secrets.token_hex(4)}_{secrets.token_urlsafe(24)}"
    return NewKey(plaintext=plaintext, prefix=key_prefix(plaintext), hash=hash_key(plaintext))
