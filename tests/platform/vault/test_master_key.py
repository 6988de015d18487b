"""Master key rules: explicit key, generated dev key (0600), refusal in production."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from reporunner.nodes.errors import ConfigurationError
from reporunner.platform.settings import load_settings
from reporunner.platform.vault import load_master_key


def test_development_generates_a_private_key_once(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    first = load_master_key(settings)
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(settings) == first
    assert len(first.key) == 32
    assert "key=***" in repr(first)


def test_explicit_key_is_used(tmp_path: Path) -> None:
    raw = os.urandom(32)
    settings = load_settings(data_dir=tmp_path, secret_key=base64.b64encode(raw).decode())
    assert load_master_key(settings).key == raw
    assert not (tmp_path / "secret.key").exists()


def test_production_without_key_refuses(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^REPORUNNER_SECRET_KEY: required in production"):
        load_master_key(load_settings(data_dir=tmp_path, env="production"))


@pytest.mark.parametrize("bad", ["not base64!!", base64.b64encode(b"short").decode()])
def test_bad_key_names_the_variable(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^REPORUNNER_SECRET_KEY: "):
        load_master_key(load_settings(data_dir=tmp_path, secret_key=bad))
