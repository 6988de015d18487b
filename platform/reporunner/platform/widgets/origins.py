"""Exact origins: what an admin may allow and how a browser's ``Origin`` header is compared.

An origin is ``scheme://host[:port]`` (RFC 6454): http or https, no user, path, query or
fragment, no wildcard. Both sides are normalised the same way (lower case, default port
dropped) and then compared as strings, so ``https://shop.example`` never matches
``https://shop.example.evil`` or ``http://shop.example``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from reporunner.nodes.errors import Problem, ValidationFailed

__all__ = ["normalise_origin", "origin_allowed", "validate_origins"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without the default port, or None if ``value``
    is not an origin."""
    raw = value.strip()
    if not raw or any(c in raw for c in "*\\ \t\r\n") or raw != value:
        return None
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or raw.endswith("?"):
        return None
    if parts.path == "/":
        return None  # a browser's Origin never ends with a slash; say so instead of guessing
    if ":" in host:
        host = f"[{host}]"
    suffix = "" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{host}{suffix}"


def validate_origins(values: list[str], pointer: str = "/allowed_origins") -> list[str]:
    """The normalised, de-duplicated origins.

    Raises:
        ValidationFailed: one problem per value that is not an exact origin.
    """
    problems: list[Problem] = []
    result: list[str] = []
    for index, value in enumerate(values):
        origin = normalise_origin(value)
        if origin is None:
            problems.append(
                Problem(
                    f"{pointer}/{index}",
                    "invalid_origin",
                    f"'{value[:100]}' is not an origin: give scheme://host[:port] (http or "
                    "https), without a path, a trailing slash or a wildcard",
                )
            )
        elif origin not in result:
            result.append(origin)
    if problems:
        raise ValidationFailed("allowed_origins: every entry must be an exact origin", problems)
    return result


def origin_allowed(header: str | None, allowed: list[str]) -> bool:
    """Whether a request's ``Origin`` header names one of ``allowed`` exactly."""
    if not header or header == "null":
        return False
    origin = normalise_origin(header)
    return origin is not None and origin in allowed
