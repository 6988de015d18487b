"""docker-compose.yml describes the production layout (no Docker engine runs here: parse it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_services_and_images() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    assert services["postgres"]["image"] == "pgvector/pgvector:pg17"
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("migrate", "api", "worker"):
        assert services[name]["build"] == "."
    assert (ROOT / "Dockerfile").exists()


def test_env_wiring_points_at_the_compose_services() -> None:
    services = _compose()["services"]
    for name in ("migrate", "api", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["REPORUNNER_ENV"] == "production"
        assert "REPORUNNER_SECRET_KEY" in env


def test_commands_and_ordering() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"] == ["reporunner", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["worker"]["command"] == ["reporunner", "worker"]
    api_cmd = services["api"]["command"]
    assert api_cmd[:2] == ["reporunner", "serve"]
    assert "--no-worker" in api_cmd
    assert "--no-migrate" in api_cmd
    for name in ("api", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_healthchecks() -> None:
    services = _compose()["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][-1] == "ping"
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
