"""Signed anonymous visitor tokens.

A token is ``base64url(payload).base64url(HMAC-SHA256)``; the payload names the widget (its
row id), the visitor's thread and an expiry. The HMAC key is derived from the vault's master
key, so tokens survive restarts and work on every API process, and nobody without the key can
make one for another thread. Nothing is stored per token: a visitor is their thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from reporunner.nodes.errors import ReporunnerError

__all__ = [
    "VISITOR_TTL_SECONDS",
    "Visitor",
    "VisitorTokenInvalid",
    "sign_visitor",
    "verify_visitor",
]

VISITOR_TTL_SECONDS = 30 * 24 * 3600
"""How long a visitor keeps their thread (the script asks for a new visitor after that)."""


class VisitorTokenInvalid(ReporunnerError):
    """The visitor token is malformed, forged, expired or belongs to another widget."""

    code = "visitor_token_invalid"
    status = 401


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who a valid token names."""

    widget_id: uuid.UUID
    thread_id: uuid.UUID
    expires_at: int


def _key(master: bytes) -> bytes:
    return hmac.new(master, b"reporunner-widget-visitor-v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_visitor(
    master: bytes, widget_id: uuid.UUID, thread_id: uuid.UUID, *, now: float | None = None
) -> tuple[str, int]:
    """A token for the visitor of ``thread_id`` on ``widget_id`` and its expiry (epoch s)."""
    expires = int((time.time() if now is None else now) + VISITOR_TTL_SECONDS)
    payload = json.dumps(
        {"w": str(widget_id), "t": str(thread_id), "exp": expires}, separators=(",", ":")
    ).encode()
    signature = hmac.new(_key(master), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}", expires


def verify_visitor(
    master: bytes, token: str, widget_id: uuid.UUID, *, now: float | None = None
) -> Visitor:
    """The visitor ``token`` names, if it is genuine, current and made for ``widget_id``.

    Raises:
        VisitorTokenInvalid: anything else (one message: no oracle for which part failed).
    """
    refused = VisitorTokenInvalid(
        "the visitor token is not valid for this widget (expired or altered): start a new "
        "visitor with POST /public/widgets/{public_id}/visitors"
    )
    body, _, sig = token.partition(".")
    try:
        payload, signature = _unb64(body), _unb64(sig)
    except (binascii.Error, ValueError):
        raise refused from None
    expected = hmac.new(_key(master), payload, hashlib.sha256).digest()
    if not sig or not hmac.compare_digest(signature, expected):
        raise refused
    try:
        data = json.loads(payload)
        visitor = Visitor(uuid.UUID(data["w"]), uuid.UUID(data["t"]), int(data["exp"]))
    except (ValueError, KeyError, TypeError):
        raise refused from None
    current = time.time() if now is None else now
    if visitor.widget_id != widget_id or visitor.expires_at <= current:
        raise refused
    return visitor
