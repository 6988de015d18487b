"""The vault's master key: from ``REPORUNNER_SECRET_KEY``, or generated for development.

Production refuses to start without an explicit key (a generated key on a container's disk is
a key that gets lost, and with it every stored credential). In development the key is generated
once into the data directory with 0600 permissions. The key id (a short hash of the key) is
stored beside every secret so that keys can be rotated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass

from reporunner.nodes.errors import ConfigurationError
from reporunner.platform.settings import Settings

__all__ = ["MasterKey", "load_master_key", "load_old_keys"]

KEY_FILE = "secret.key"
_HOW = (
    "generate one with: "
    'python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"'
)


@dataclass(frozen=True, slots=True)
class MasterKey:
    key_id: str
    key: bytes

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r}, key=***)"


def _decode(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"REPORUNNER_SECRET_KEY: not valid base64; {_HOW}") from None
    if len(key) != 32:
        raise ConfigurationError(
            f"REPORUNNER_SECRET_KEY: must decode to 32 bytes, got {len(key)}; {_HOW}"
        )
    return key


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"reporunner-key-id:" + key).hexdigest()[:12]


def load_master_key(settings: Settings) -> MasterKey:
    """The master key for ``settings`` (see module docstring for the rules)."""
    if settings.secret_key is not None:
        key = _decode(settings.secret_key.get_secret_value())
        return MasterKey(_key_id(key), key)
    if settings.env == "production":
        raise ConfigurationError(f"REPORUNNER_SECRET_KEY: required in production; {_HOW}")
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    key = _decode(path.read_text())
    return MasterKey(_key_id(key), key)


def load_old_keys(settings: Settings) -> tuple[MasterKey, ...]:
    """Previous master keys (``REPORUNNER_OLD_SECRET_KEYS``, comma separated) for rotation."""
    if settings.old_secret_keys is None:
        return ()
    keys = []
    for part in settings.old_secret_keys.get_secret_value().split(","):
        if part.strip():
            try:
                key = _decode(part)
            except ConfigurationError as err:
                raise ConfigurationError(
                    err.detail.replace("REPORUNNER_SECRET_KEY", "REPORUNNER_OLD_SECRET_KEYS", 1)
                ) from None
            keys.append(MasterKey(_key_id(key), key))
    return tuple(keys)
