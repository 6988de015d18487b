"""Headers of a webhook's answer: a workflow may not speak for the API's origin.

A ``webhook.respond`` node chooses its answer's status, headers and body, and the answer is
served from the API's own origin (next to ``/docs`` and the web app). So only headers that
cannot act for the origin pass (:data:`ALLOWED`, plus custom ``X-`` headers other than the
security ones), and every answer is served with ``nosniff`` and a sandbox CSP (an opaque
origin: no scripts, no cookies, no storage of ours); HTML-like bodies are also attachments.
``Set-Cookie``, ``Access-Control-*``, ``Content-Security-Policy``, ``Refresh``, ``Link`` and the
like are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ALLOWED", "safe_answer_headers"]

ALLOWED = frozenset(
    {
        "content-type",
        "content-language",
        "cache-control",
        "etag",
        "expires",
        "last-modified",
        "location",
        "retry-after",
        "vary",
    }
)
"""Headers a workflow may set on its webhook answer (besides custom ``X-`` ones)."""

_X_REFUSED = frozenset(
    {
        "x-content-type-options",
        "x-frame-options",
        "x-xss-protection",
        "x-permitted-cross-domain-policies",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
    }
)
_ACTIVE_TYPES = ("html", "xml", "svg", "javascript", "ecmascript")

FORCED = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _allowed(name: str) -> bool:
    lowered = name.lower()
    if lowered in ALLOWED:
        return True
    return lowered.startswith("x-") and lowered not in _X_REFUSED


def safe_answer_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers to serve: the workflow's allowed ones plus the forced security headers."""
    out = {k: v for k, v in headers.items() if _allowed(k)}
    media = next((v for k, v in out.items() if k.lower() == "content-type"), "").lower()
    if any(kind in media for kind in _ACTIVE_TYPES):
        out["Content-Disposition"] = 'attachment; filename="webhook-answer"'
    out.update(FORCED)
    return out
