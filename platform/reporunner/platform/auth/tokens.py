"""Opaque tokens of browser sessions and one-time links, stored only as SHA-256 hashes.

A token carries 256 random bits, so a fast hash is enough: there is nothing to brute-force,
and a leaked database does not contain a usable token.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["hash_token", "new_token"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh URL-safe token and its hash."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)
