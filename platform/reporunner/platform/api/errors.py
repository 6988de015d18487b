"""Every error leaves the API as ``application/problem+json`` (RFC 9457), never a stack trace.

One table (``ReporunnerError.status``/``code``) decides the status of our own errors;
framework errors (bad JSON, failed body validation, unknown route), database integrity errors
and an unreachable PostgreSQL or Redis (503 with ``Retry-After``) are translated here too, in
one place.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import IntegrityError

from reporunner.nodes.errors import Problem, ReporunnerError
from reporunner.platform.services.outage import RETRY_AFTER_SECONDS, is_service_down

__all__ = ["PROBLEM_JSON", "exception_handlers", "problem"]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://reporunner.dev/problems/"

log = logging.getLogger(__name__)

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    status: int, code: str, detail: str, *, request: Request[Any, Any, Any] | None = None,
    headers: dict[str, str] | None = None, **extra: Any,
) -> Response[dict[str, Any]]:  # fmt: skip
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _ours(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, ReporunnerError)
    if exc.status >= 500:
        log.error("request failed: %s", exc.detail)
    retry = exc.extra.get("retry_after")
    headers = {"Retry-After": str(retry)} if isinstance(retry, int) else None
    if headers is None and exc.status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return problem(exc.status, exc.code, exc.detail, request=request, headers=headers, **exc.extra)


def _outage(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("%s %s: a service is unreachable: %s", request.method, request.url.path, exc)
    return problem(
        503, "service_unavailable",
        "the database or the queue is unreachable right now; retry after "
        f"{RETRY_AFTER_SECONDS}s",
        request=request, headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )  # fmt: skip


def _validation(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, ValidationException)
    problems: list[Problem] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        key = item.get("key") if isinstance(item, dict) else None
        message = item.get("message") if isinstance(item, dict) else str(item)
        pointer = "/" + str(key).replace(".", "/") if key else ""
        problems.append(Problem(pointer, "invalid_value", str(message)))
    detail = exc.detail or "the request is invalid"
    if problems:
        detail = "; ".join(f"{p.pointer or 'body'}: {p.message}" for p in problems[:5])
    listed = [p.as_dict() for p in problems]
    return problem(400, "invalid_request", detail, request=request, problems=listed)


def _http(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, HTTPException)
    code = _TITLES.get(exc.status_code, "error").lower().replace(" ", "_")
    return problem(exc.status_code, code, exc.detail, request=request, headers=exc.headers or None)


def _integrity(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.info("integrity error: %s", exc)
    return problem(
        409, "conflict",
        "the change conflicts with an existing record (a duplicate name or a reference to "
        "something that no longer exists); change the conflicting field and retry",
        request=request,
    )  # fmt: skip


def _malformed(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """A body the decoder chokes on is the client's error, not ours (never a 500)."""
    if isinstance(exc, UnicodeDecodeError):
        detail = f"the request body is not valid UTF-8 (byte {exc.start}); send UTF-8 text"
        code = "invalid_utf8"
    else:
        detail = "the request body nests too deeply to decode; flatten it"
        code = "too_deep"
    return problem(400, code, detail, request=request)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if is_service_down(exc):
        return _outage(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        500, "internal_error",
        "the server hit an unexpected error; it has been logged. Retry, or report it with the "
        "time of the request",
        request=request,
    )  # fmt: skip


exception_handlers: dict[int | type[Exception], Any] = {
    ReporunnerError: _ours,
    ValidationException: _validation,
    HTTPException: _http,
    IntegrityError: _integrity,
    UnicodeDecodeError: _malformed,
    RecursionError: _malformed,
    Exception: _unexpected,
}
