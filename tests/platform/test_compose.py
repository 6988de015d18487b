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
        assert env["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")
        assert env["REDIS_URL"].endswith("}@redis:6379/0")
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


def test_secrets_are_required_never_defaulted() -> None:
    """#18: no fixed reporunner:reporunner, no passwordless Redis; compose refuses to start
    until the operator sets each secret (``${VAR:?message}``), and no default is written."""
    text = (ROOT / "docker-compose.yml").read_text()
    services = _compose()["services"]
    assert "reporunner:reporunner@" not in text
    for var in (
        "POSTGRES_PASSWORD",
        "REPORUNNER_DB_PASSWORD",
        "REDIS_PASSWORD",
        "REPORUNNER_SECRET_KEY",
    ):
        assert f"${{{var}:?" in text, var
        assert f"${{{var}:-" not in text, var  # no defaults
        assert f"${{{var}-" not in text, var
    postgres = services["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert postgres["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"
    for name in ("migrate", "api", "worker"):
        url = services[name]["environment"]["DATABASE_URL"]
        # the app's own role, never the superuser's password
        assert url.startswith("postgresql://reporunner:${REPORUNNER_DB_PASSWORD:?")
        assert "POSTGRES_PASSWORD" not in str(services[name]["environment"])
    redis_cmd = services["redis"]["command"]
    assert redis_cmd[redis_cmd.index("--requirepass") + 1].startswith("${REDIS_PASSWORD:?")
    assert services["redis"]["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?")
    for name in ("postgres", "redis"):
        assert "ports" not in services[name], f"{name} must not be published"


def test_workers_scale_and_outlast_their_grace() -> None:
    """`docker compose up --scale worker=4`: nothing fixed per container on the worker (name,
    host name, published port), and Docker waits longer than the worker's shutdown grace."""
    services = _compose()["services"]
    worker = services["worker"]
    for key in ("container_name", "hostname", "ports"):
        assert key not in worker, key
    assert "container_name" not in services["api"]
    grace = worker["stop_grace_period"]
    assert grace.endswith("s")
    assert float(grace[:-1]) > 30.0


def test_the_app_role_is_not_the_superuser() -> None:
    """#18: the image's POSTGRES_USER is a superuser; the app connects as `reporunner`, which
    deploy/postgres/initdb creates (NOSUPERUSER, owner of its database) on the volume's first
    start. tests/security/test_database_privileges.py runs that script on a real server."""
    postgres = _compose()["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_USER"] == "postgres"
    assert "POSTGRES_DB" not in postgres["environment"]  # the script creates it, owned by the app
    assert "--auth-local=scram-sha-256" in postgres["environment"]["POSTGRES_INITDB_ARGS"]
    mount = "./deploy/postgres/initdb:/docker-entrypoint-initdb.d:ro"
    assert mount in postgres["volumes"]
    script = ROOT / "deploy/postgres/initdb/10-reporunner-role.sh"
    assert script.stat().st_mode & 0o111, "the entrypoint runs executable scripts"
    assert "NOSUPERUSER" in script.read_text()
    # the health check goes over TCP: the set-up server (init scripts) listens on the socket only
    assert "-h 127.0.0.1" in " ".join(postgres["healthcheck"]["test"])


def test_api_and_workers_share_no_volume() -> None:
    """Originals live in PostgreSQL (or S3), so an API and its workers need no common disk."""
    compose = _compose()
    for name in ("migrate", "api", "worker"):
        assert "volumes" not in compose["services"][name], name
    assert set(compose["volumes"]) == {"pgdata", "redisdata"}
