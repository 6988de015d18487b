"""Settings come from the environment once, with errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from reporunner.nodes.errors import ConfigurationError
from reporunner.platform.settings import load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = load_settings()
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.data_dir == Path(".reporunner")
    assert settings.port == 8000


def test_plain_and_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/x")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("REPORUNNER_PORT", "9000")
    monkeypatch.setenv("REPORUNNER_DATA_DIR", "/srv/rr")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/x"
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.port == 9000
    assert settings.data_dir == Path("/srv/rr")


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("DATABASE_URL", "nonsense", "DATABASE_URL: must be a PostgreSQL URL"),
        ("REDIS_URL", "http://x", "REDIS_URL: must be a Redis URL"),
        ("REPORUNNER_PORT", "eighty", "REPORUNNER_PORT:"),
        ("REPORUNNER_ENV", "staging", "REPORUNNER_ENV:"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "OTEL_EXPORTER_OTLP_ENDPOINT: must be"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "file:///etc/passwd", "OTEL_EXPORTER_OTLP_ENDPOINT:"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert info.value.detail.startswith(expected)
    assert "\n" not in info.value.detail


def test_limits_come_from_the_settings_and_bad_ones_name_the_variable() -> None:
    settings = load_settings(code_timeout_seconds=3, code_memory_mb=128, code_node="/usr/bin/x")
    limits = settings.code_limits()
    assert (limits.timeout_seconds, limits.memory_mb, limits.node) == (3, 128, "/usr/bin/x")
    for field, value in (("code_timeout_seconds", 0), ("code_memory_mb", 1)):
        with pytest.raises(ConfigurationError, match=f"REPORUNNER_{field.upper()}"):
            load_settings(**{field: value})


def test_tracing_takes_the_standard_opentelemetry_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", " http://otel-collector:4318 ")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "rr-eu")
    settings = load_settings()
    assert settings.otel_exporter_otlp_endpoint == "http://otel-collector:4318"
    assert settings.otel_service_name == "rr-eu"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    assert load_settings().otel_exporter_otlp_endpoint is None  # empty: tracing off
