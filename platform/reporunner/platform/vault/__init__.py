"""Credential vault: master key handling (encryption of credentials builds on it)."""

from reporunner.platform.vault.keys import MasterKey, load_master_key

__all__ = ["MasterKey", "load_master_key"]
