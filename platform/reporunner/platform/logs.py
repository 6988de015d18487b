"""Structured logs: one JSON object per line, with the request id and the execution id.

The ids travel in context variables: the API middleware binds ``request_id`` for each request,
and the worker binds ``execution_id`` around each run (:func:`bind_execution`), so every log
call below them carries the ids without passing them around.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ContextFilter",
    "JsonFormatter",
    "bind_execution",
    "client_address_var",
    "configure_logging",
    "execution_id_var",
    "request_id_var",
]

request_id_var: ContextVar[str | None] = ContextVar("reporunner_request_id", default=None)
client_address_var: ContextVar[str | None] = ContextVar("reporunner_client_address", default=None)
"""The client's address (trusted proxies applied), bound by the API for each request: audit
entries record it."""
execution_id_var: ContextVar[str | None] = ContextVar("reporunner_execution_id", default=None)

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Copies the bound request and execution ids onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.execution_id = execution_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", "execution_id", ...extra}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "execution_id": getattr(record, "execution_id", None) or execution_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


@contextlib.contextmanager
def bind_execution(execution_id: object) -> Iterator[None]:
    """Tag every log line inside the block with ``execution_id`` (the worker wraps runs)."""
    token = execution_id_var.set(str(execution_id))
    try:
        yield
    finally:
        execution_id_var.reset(token)


def configure_logging(level: str = "INFO", fmt: str = "json") -> logging.Handler:
    """Install one stderr handler on the root logger (``serve`` and ``worker`` call this),
    replacing the plain or Rich handlers a library's ``basicConfig`` left there.

    Args:
        level: Python log level name.
        fmt: ``json`` or ``text``.

    Returns:
        The installed handler (remove it to undo).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    for other in list(root.handlers):
        # a library's logging.basicConfig at import (the MCP SDK installs a RichHandler) would
        # print every line a second time
        if type(other) is logging.StreamHandler or type(other).__module__.startswith("rich"):
            root.removeHandler(other)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
