"""Tracing set-up: an OTLP/HTTP exporter when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else none.

The API (its lifespan) and each worker (its start-up) call :func:`start_tracing` and
:func:`stop_tracing`; several users in one process (an API with its in-process worker, tests)
share one tracer provider, which is flushed and shut down when the last of them stops. With the
endpoint unset nothing is imported beyond the OpenTelemetry API and every span is a no-op
(``reporunner.nodes.tracing``).

The endpoint is the operator's (a setting), never a user's: spans go there without the SSRF
guard, like the database and Redis URLs (docs/security.md).
"""

from __future__ import annotations

import logging
import threading

from reporunner.nodes import tracing
from reporunner.platform.settings import Settings

__all__ = ["start_tracing", "stop_tracing", "traces_url"]

log = logging.getLogger("reporunner.telemetry")

_lock = threading.Lock()
_users = 0
_provider: object | None = None


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a base endpoint (``.../v1/traces``, as the spec appends)."""
    return endpoint.rstrip("/") + "/v1/traces"


def start_tracing(settings: Settings, role: str) -> bool:
    """Install the exporter once per process if the endpoint is set; True if tracing is on.

    Args:
        settings: ``otel_exporter_otlp_endpoint`` and ``otel_service_name``.
        role: ``api`` or ``worker`` (the ``reporunner.role`` resource attribute).
    """
    global _users, _provider
    endpoint = settings.otel_exporter_otlp_endpoint
    if not endpoint:
        return False
    with _lock:
        _users += 1
        if _provider is not None:
            return True
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        import reporunner.platform

        provider = TracerProvider(
            resource=Resource.create(
                {
                    "service.name": settings.otel_service_name,
                    "service.version": reporunner.platform.__version__,
                    "reporunner.role": role,
                }
            )
        )
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(traces_url(endpoint))))
        _provider = provider
        tracing.install(provider.get_tracer("reporunner", reporunner.platform.__version__))
    log.info("tracing on: spans go to %s", traces_url(endpoint))
    return True


def stop_tracing() -> None:
    """One user is done; the last one flushes the spans still buffered and shuts down."""
    global _users, _provider
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users > 0 or _provider is None:
            return
        provider, _provider = _provider, None
        tracing.uninstall()
    from opentelemetry.sdk.trace import TracerProvider

    assert isinstance(provider, TracerProvider)
    provider.shutdown()  # exports what the batch processor still holds
