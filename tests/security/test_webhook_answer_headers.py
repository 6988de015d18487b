"""Finding 5: ``webhook.respond`` set any header on the API's own origin.

The attack: a workflow answered its webhook with ``Content-Type: text/html`` and a script,
``Set-Cookie``, ``Access-Control-Allow-Origin: *`` and its own CSP: stored XSS next to
``/docs``. Now only headers that cannot act for the origin pass, and every answer carries
``nosniff`` and a sandbox CSP; HTML is served as an attachment.
"""

from __future__ import annotations

import uuid

import httpx
from security_testkit import Served

from reporunner.platform.webhooks.answer_headers import safe_answer_headers

HOSTILE = {
    "Content-Type": "text/html; charset=utf-8",
    "Set-Cookie": "session=stolen; Path=/",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Credentials": "true",
    "Content-Security-Policy": "script-src *",
    "X-Content-Type-Options": "sniff-away",
    "Refresh": "0; url=https://attacker.example/",
    "Link": "<https://attacker.example/x.css>; rel=stylesheet",
    "X-Request-Kind": "report",
    "Cache-Control": "no-store",
}


def test_only_harmless_headers_pass_and_security_headers_are_forced() -> None:
    out = {k.lower(): v for k, v in safe_answer_headers(HOSTILE).items()}
    for dropped in ("set-cookie", "access-control-allow-origin", "refresh", "link"):
        assert dropped not in out
    assert out["x-content-type-options"] == "nosniff"
    assert out["content-security-policy"].startswith("sandbox")
    assert out["content-disposition"].startswith("attachment")
    assert out["x-request-kind"] == "report"
    assert out["cache-control"] == "no-store"
    plain = safe_answer_headers({"Content-Type": "application/json"})
    assert "Content-Disposition" not in plain  # JSON answers stay inline


async def test_served_webhook_answer_cannot_act_for_the_api_origin(served: Served) -> None:
    owner = {"Authorization": f"Bearer {await served.key_for('owner')}"}
    slug = httpx.get(f"{served.base}/workspace", headers=owner, timeout=30).json()["slug"]
    path = f"xss-{uuid.uuid4().hex[:8]}"
    definition = {
        "name": "xss",
        "nodes": [
            {
                "id": "hook",
                "type": "trigger.webhook",
                "params": {"path": path, "response_mode": "respond_node"},
            },
            {
                "id": "answer",
                "type": "webhook.respond",
                "params": {
                    "respond_with": "text",
                    "text": "<script>fetch('/api-keys').then(r=>r.text()).then(alert)</script>",
                    "headers": HOSTILE,
                },
            },
        ],
        "edges": [{"source": "hook", "target": "answer"}],
    }
    made = httpx.post(
        f"{served.base}/workflows?publish=true", json=definition, headers=owner, timeout=30
    )
    assert made.status_code == 201, made.text
    answer = httpx.post(f"{served.base}/hooks/{slug}/{path}", json={"x": 1}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert "<script>" in answer.text  # the body is the workflow's...
    headers = answer.headers
    assert "set-cookie" not in headers  # ...but it cannot act as the API's origin
    assert "access-control-allow-origin" not in headers
    assert "refresh" not in headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("sandbox")
    assert headers["content-disposition"].startswith("attachment")
