"""Credential vault: AES-GCM sealed credentials, master keys and rotation."""

from reporunner.platform.settings import Settings
from reporunner.platform.vault.crypto import Keyring, Sealed
from reporunner.platform.vault.keys import MasterKey, load_master_key, load_old_keys
from reporunner.platform.vault.service import (
    check_bindings,
    create_credential,
    delete_credential,
    get_credential,
    list_credentials,
    resolve_credentials,
    rotate_all,
    update_credential,
)

__all__ = [
    "Keyring",
    "MasterKey",
    "Sealed",
    "check_bindings",
    "create_credential",
    "delete_credential",
    "get_credential",
    "keyring_from_settings",
    "list_credentials",
    "load_master_key",
    "load_old_keys",
    "resolve_credentials",
    "rotate_all",
    "update_credential",
]


def keyring_from_settings(settings: Settings) -> Keyring:
    """The keyring for ``settings``: current master key plus REPORUNNER_OLD_SECRET_KEYS."""
    return Keyring(load_master_key(settings), load_old_keys(settings))
