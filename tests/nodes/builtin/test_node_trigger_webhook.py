"""trigger.webhook: params, request verification (token, HMAC + timestamp), node output."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.trigger_webhook import (
    WebhookAuthError,
    WebhookParams,
    WebhookTrigger,
    verify_webhook_request,
    webhook_signature,
)
from reporunner.nodes.errors import ConfigurationError, ValidationFailed
from reporunner.nodes.testing import NodeTestContext, run_node

SECRET = "whsec-Very-Secret-1"
NOW = 1_700_000_000.0
BODY = b'{"order": 17}'


def _params(**kw: Any) -> WebhookParams:
    return WebhookParams.model_validate({"path": "orders/created", **kw})


def _signed(ts: int = int(NOW), body: bytes = BODY) -> dict[str, str]:
    return {"x-timestamp": str(ts), "X-Signature": webhook_signature(SECRET, ts, body)}


def test_auth_none_accepts_anything() -> None:
    verify_webhook_request(_params(), headers={}, body=b"", secret=None)


def test_header_token() -> None:
    params = _params(auth="header_token")
    verify_webhook_request(params, headers={"x-webhook-token": SECRET}, body=b"", secret=SECRET)
    with pytest.raises(WebhookAuthError, match="missing header 'X-Webhook-Token'"):
        verify_webhook_request(params, headers={}, body=b"", secret=SECRET)
    with pytest.raises(WebhookAuthError, match="wrong token") as info:
        verify_webhook_request(params, headers={"X-Webhook-Token": "nope"}, body=b"", secret=SECRET)
    assert info.value.status == 401
    assert SECRET not in str(info.value)


def test_header_token_in_authorization_bearer() -> None:
    params = _params(auth="header_token", token_header="Authorization")
    headers = {"Authorization": f"Bearer {SECRET}"}
    verify_webhook_request(params, headers=headers, body=b"", secret=SECRET)


def test_hmac_valid_signature_passes() -> None:
    params = _params(auth="hmac")
    verify_webhook_request(params, headers=_signed(), body=BODY, secret=SECRET, now=NOW)
    # Bare hex (no 'sha256=' prefix) and upper case are accepted too.
    headers = _signed()
    headers["X-Signature"] = headers["X-Signature"].removeprefix("sha256=").upper()
    verify_webhook_request(params, headers=headers, body=BODY, secret=SECRET, now=NOW + 299)


@pytest.mark.parametrize(
    ("headers", "body", "now", "message"),
    [
        (_signed(), b'{"order": 18}', NOW, "does not match the body"),
        (_signed(), BODY, NOW + 301, "more than 300s away"),
        (_signed(), BODY, NOW - 301, "more than 300s away"),
        ({"X-Signature": "sha256=00"}, BODY, NOW, "need headers 'X-Timestamp' and 'X-Signature'"),
        ({**_signed(), "x-timestamp": "yesterday"}, BODY, NOW, "must be a Unix time"),
        ({"x-timestamp": str(int(NOW)), "x-signature": "sha256=abc"}, BODY, NOW, "does not match"),
    ],
)
def test_hmac_refusals(headers: dict[str, str], body: bytes, now: float, message: str) -> None:
    with pytest.raises(WebhookAuthError, match=message) as info:
        verify_webhook_request(
            _params(auth="hmac"), headers=headers, body=body, secret=SECRET, now=now
        )
    assert SECRET not in info.value.detail
    assert webhook_signature(SECRET, int(NOW), BODY) not in info.value.detail


def test_missing_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="bind an hmac_secret credential"):
        verify_webhook_request(_params(auth="hmac"), headers=_signed(), body=BODY, secret=None)


@pytest.mark.parametrize("path", ["/leading", "a//b", "../etc", "with space", "x" * 201, ""])
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(ValidationError):
        _params(path=path)


async def test_node_outputs_the_request_item() -> None:
    request = {"method": "POST", "path": "orders/created", "headers": {}, "query": {}, "body": {}}
    out = await run_node(
        WebhookTrigger, WebhookTrigger.example, {}, NodeTestContext(trigger=request)
    )
    assert out.ports == {"main": [request]}


# --- declared body (input_schema) ---

BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"order_id": {"type": "integer"}, "email": {"type": "string"}},
    "required": ["order_id"],
}


def _request(body: Any) -> dict[str, Any]:
    return {"method": "POST", "path": "orders/created", "headers": {}, "query": {}, "body": body}


async def test_a_body_matching_the_declared_schema_passes() -> None:
    params = {"path": "orders/created", "input_schema": BODY_SCHEMA}
    request = _request({"order_id": 7, "email": "a@example.test"})
    out = await run_node(WebhookTrigger, params, {}, NodeTestContext(trigger=request))
    assert out.ports == {"main": [request]}


async def test_a_body_not_matching_fails_naming_the_field() -> None:
    params = {"path": "orders/created", "input_schema": BODY_SCHEMA}
    ctx = NodeTestContext(trigger=_request({"order_id": "seven"}))
    with pytest.raises(ValidationFailed) as info:
        await run_node(WebhookTrigger, params, {}, ctx)
    assert "the request body" in info.value.detail
    assert "field 'order_id': 'seven' is not of type 'integer'" in info.value.detail
    with pytest.raises(ValidationFailed) as before:  # what the platform checks before queueing
        WebhookTrigger.check_start(params, _request({"email": "a@example.test"}))
    assert before.value.problems[0]["pointer"] == "/body/order_id"
    assert "field 'order_id' is required" in before.value.detail
    WebhookTrigger.check_start({"path": "orders/created"}, _request("any text"))  # no schema


def test_an_invalid_body_schema_is_refused_at_the_param() -> None:
    with pytest.raises(ValidationError) as info:
        _params(input_schema={"type": "object", "properties": {"id": {"minimum": "one"}}})
    error = info.value.errors()[0]
    assert error["loc"] == ("input_schema",)
    assert "not a valid JSON Schema at '/properties/id/minimum'" in error["msg"]
    assert _params(input_schema={"type": "string"}).input_schema == {"type": "string"}
    assert _params().input_schema is None
