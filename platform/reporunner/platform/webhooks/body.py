"""Turn a raw webhook request into the trigger item: data only, never files.

The parser is chosen by the declared content type, and every result is plain data (strings,
numbers, lists, dicts): a multipart part named like a path, or a text body that looks like
``@/etc/passwd``, stays a string in the item. Nothing here opens a file, and multipart file
parts are returned inline (text, or base64 for binary content) with their declared name as a
label only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

from reporunner.nodes.errors import ReporunnerError

__all__ = ["HIDDEN_HEADERS", "InvalidWebhookBody", "parse_body", "trigger_item"]

HIDDEN_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})
"""Headers never copied into the trigger item (node outputs are stored and shown)."""

_SECRET_WORDS = ("token", "secret", "password", "passwd", "api-key", "apikey", "auth", "signature")


def _secret_looking(name: str) -> bool:
    """``api-key``, ``x-auth-token``, ``x-hub-signature-256``...: kept out like Authorization."""
    return any(word in name for word in _SECRET_WORDS)


class InvalidWebhookBody(ReporunnerError):
    """The body does not parse as the content type it declares."""

    code = "invalid_webhook_body"
    status = 400


def _flatten(values: Mapping[str, list[str]]) -> dict[str, Any]:
    return {k: v[0] if len(v) == 1 else v for k, v in values.items()}


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + raw
    )
    if not message.is_multipart():
        raise InvalidWebhookBody("the multipart body has no parts; check its boundary")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode("utf-8", errors="replace")
            continue
        try:
            content: dict[str, Any] = {"text": data.decode("utf-8")}
        except UnicodeDecodeError:
            content = {"base64": base64.b64encode(data).decode()}
        fields[name] = {
            "filename": str(filename)[:255],
            "content_type": part.get_content_type(),
            "size": len(data),
            **content,
        }
    return fields


def parse_body(content_type: str, raw: bytes) -> Any:
    """The request body as data: JSON, form fields, multipart fields, or text.

    Raises:
        InvalidWebhookBody: the body declares JSON but is not JSON.
    """
    if not raw:
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidWebhookBody(f"the body is not valid JSON: {err}") from None
    if kind == "application/x-www-form-urlencoded":
        text = raw.decode("utf-8", errors="replace")
        return _flatten(parse_qs(text, keep_blank_values=True))
    if kind == "multipart/form-data":
        return _multipart(content_type, raw)
    return raw.decode("utf-8", errors="replace")


def trigger_item(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    query: Mapping[str, list[str]],
    body: Any,
    hidden: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The ``trigger.webhook`` item ``{method, path, headers, query, body}``.

    Credentials in headers (``Authorization``, cookies, the trigger's own token or signature
    header, and any header whose name looks like a secret: ``api-key``, ``x-auth-token``...) are
    left out, so they never reach node outputs, events or logs (viewers read those).
    """
    drop = HIDDEN_HEADERS | {h.lower() for h in hidden}
    return {
        "method": method,
        "path": path,
        "headers": {
            k.lower(): v
            for k, v in headers.items()
            if k.lower() not in drop and not _secret_looking(k.lower())
        },
        "query": _flatten(query),
        "body": body,
    }
