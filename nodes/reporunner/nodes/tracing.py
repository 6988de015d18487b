"""OpenTelemetry spans for every part, at (almost) no cost while tracing is off.

The platform installs a tracer at start-up when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set
(``reporunner.platform.telemetry``); until then :func:`span` hands back one shared no-op context
manager and :func:`start` returns ``None``, so the hot path pays a function call and a ``None``
check, not the OpenTelemetry API. Spans nest through ``contextvars`` like OpenTelemetry's own
context; across the queue the trace travels as a W3C ``traceparent`` string
(:func:`current_traceparent`, :func:`parent_from`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "SpanKind",
    "current_traceparent",
    "enabled",
    "install",
    "parent_from",
    "span",
    "start",
    "uninstall",
]

AttributeValue = str | bool | int | float | Sequence[str]

_NOOP: contextlib.nullcontext[None] = contextlib.nullcontext()
_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: Tracer | None = None


def install(tracer: Tracer) -> None:
    """Make :func:`span` and :func:`start` record with ``tracer`` (the platform calls this)."""
    global _tracer
    _tracer = tracer


def uninstall() -> None:
    """Back to no-op spans."""
    global _tracer
    _tracer = None


def enabled() -> bool:
    """Whether spans are recorded (callers may skip building costly attributes otherwise)."""
    return _tracer is not None


def span(
    name: str,
    attributes: Mapping[str, AttributeValue] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    links: Sequence[Link] = (),
) -> contextlib.AbstractContextManager[Span | None]:
    """A span around a block, current inside it (children nest under it); a raised exception
    is recorded on it and sets its status to error. A no-op while tracing is off.

    Args:
        name: Span name.
        attributes: Set when the span starts.
        kind: ``SERVER`` for a request, ``CONSUMER`` for a job, ``CLIENT`` for a call out.
        parent: The context to start from (default: the current span).
        links: Spans this one is related to without being their child.
    """
    if _tracer is None:
        return _NOOP
    return _tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=attributes, links=links
    )


def start(
    name: str,
    attributes: Mapping[str, AttributeValue] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
) -> Span | None:
    """A child of the current span that the caller ends (``span.end()``), without making it
    current: for a span that lives across ``yield`` (a stream), where a current-span token
    could be reset in another context. ``None`` while tracing is off."""
    if _tracer is None:
        return None
    return _tracer.start_span(name, kind=kind, attributes=attributes)


def current_traceparent() -> str | None:
    """The current span's W3C ``traceparent`` (``None`` when off or outside any span)."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def parent_from(traceparent: str | None) -> otel_context.Context | None:
    """The context a ``traceparent`` names; ``None`` for a missing or malformed one (a bad
    value starts a new trace instead of failing the work)."""
    if not traceparent:
        return None
    found = _PROPAGATOR.extract({"traceparent": traceparent})
    valid = trace.get_current_span(found).get_span_context().is_valid
    return found if valid else None
