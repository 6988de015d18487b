"""Who is calling, for the anonymous limits: the client address and failed-key bookkeeping.

Anonymous floods (no key, a random key each time, probes of ``/readyz``, random webhook paths)
are limited per client address (``REPORUNNER_ANONYMOUS_RATE_LIMIT_PER_MINUTE``): requests
without a key count in ``anon:<ip>``, failed key lookups in ``authfail:<ip>``, and a client
past its failure limit is refused before its next key costs a database lookup. The address is
the socket's peer, or, when that peer is one of ``REPORUNNER_TRUSTED_PROXIES`` (or that is
``*``), the right-most ``X-Forwarded-For`` entry that is not a trusted proxy (the left ones
are the client's to forge; ``reporunner.platform.auth.requests``). Unknown keys are also
remembered for a minute in-process (:class:`NegativeKeyCache`), so repeating one costs no
lookup at all.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from typing import Any

from reporunner.platform.auth.requests import forwarded_client

__all__ = ["NegativeKeyCache", "anon_bucket", "authfail_bucket", "client_address"]


def client_address(scope: Any, trusted_proxies: str) -> str:
    """The calling client's address (see the module docstring for proxies)."""
    return forwarded_client(scope, trusted_proxies)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def anon_bucket(address: str) -> str:
    """Bucket of a client's requests without an API key."""
    return "anon:" + _digest(address)


def authfail_bucket(address: str) -> str:
    """Bucket of a client's failed API-key lookups."""
    return "authfail:" + _digest(address)


class NegativeKeyCache:
    """Hashes of keys that were unknown, remembered for ``ttl`` seconds (at most ``size``)."""

    def __init__(self, ttl: float = 60.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._seen: OrderedDict[str, float] = OrderedDict()

    def known_bad(self, key_hash: str) -> bool:
        expires = self._seen.get(key_hash)
        if expires is None:
            return False
        if expires < time.monotonic():
            del self._seen[key_hash]
            return False
        return True

    def add(self, key_hash: str) -> None:
        self._seen[key_hash] = time.monotonic() + self.ttl
        self._seen.move_to_end(key_hash)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)

    def forget(self, key_hash: str) -> None:
        self._seen.pop(key_hash, None)
