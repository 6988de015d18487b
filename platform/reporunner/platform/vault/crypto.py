"""AES-256-GCM for credential payloads, bound to their row.

The associated data is ``"<workspace id>:<credential id>"``: a ciphertext copied into another
row or another workspace fails authentication instead of decrypting there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reporunner.nodes.errors import ConfigurationError, CredentialError
from reporunner.platform.vault.keys import MasterKey

__all__ = ["Keyring", "Sealed"]

NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class Keyring:
    """The current master key (encrypts) and older ones (still decrypt, for rotation)."""

    current: MasterKey
    previous: tuple[MasterKey, ...] = field(default=())

    def _key(self, key_id: str) -> bytes:
        for candidate in (self.current, *self.previous):
            if candidate.key_id == key_id:
                return candidate.key
        raise ConfigurationError(
            f"REPORUNNER_SECRET_KEY: a credential was encrypted with key '{key_id}', which is "
            "neither the current key nor in REPORUNNER_OLD_SECRET_KEYS; add the old key there"
        )

    def seal(self, plaintext: bytes, aad: str) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self.current.key).encrypt(nonce, plaintext, aad.encode())
        return Sealed(self.current.key_id, nonce, ciphertext)

    def open(self, sealed: Sealed, aad: str) -> bytes:
        try:
            return AESGCM(self._key(sealed.key_id)).decrypt(
                sealed.nonce, sealed.ciphertext, aad.encode()
            )
        except InvalidTag:
            raise CredentialError(
                "a stored credential failed authentication (tampered with, or moved between "
                "rows); create it again"
            ) from None
