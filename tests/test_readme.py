"""The README opens with the two set-up commands and lists every setting."""

from __future__ import annotations

from pathlib import Path

from reporunner.platform.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make run", "make test"]


def test_every_setting_is_documented() -> None:
    plain = {"database_url": "DATABASE_URL", "redis_url": "REDIS_URL"}
    for name in Settings.model_fields:
        env = plain.get(name, f"REPORUNNER_{name.upper()}")
        assert f"| `{env}` |" in README, f"README lacks a settings row for {env}"
