"""The API's edge: secure headers, request ids, body limits, rate limits, CORS, metrics, logs."""

from __future__ import annotations

import json
import logging

from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from reporunner.platform.api.app import create_app
from reporunner.platform.api.middleware import JSON_CSP
from reporunner.platform.logs import (
    ContextFilter,
    JsonFormatter,
    bind_execution,
    request_id_var,
)


async def test_every_answer_carries_secure_headers_and_a_request_id(settings) -> None:
    async with AsyncTestClient(create_app(settings)) as client:
        ok = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        unauthorized = await client.get("/workflows")
        missing = await client.get("/no/such/route", headers={"X-Request-ID": "bad id\x7f"})
    for response in (ok, unauthorized, missing):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"] == JSON_CSP
        assert response.headers["x-request-id"]
    assert ok.headers["x-request-id"] == "abc-123"
    assert missing.headers["x-request-id"] != "bad id\x7f"
    assert unauthorized.status_code == 401
    assert missing.status_code == 404


async def test_large_bodies_are_refused_with_413(settings, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    small = settings.model_copy(update={"max_request_bytes": 1000})
    async with AsyncTestClient(create_app(small)) as client:
        response = await client.post(
            "/workflows", content=b"{" + b" " * 5000 + b"}", headers=editor.headers
        )
    assert response.status_code == 413


async def test_an_api_key_is_rate_limited_with_retry_after(
    settings, tenant_factory, frozen_rate_window
) -> None:
    busy, calm = await tenant_factory(), await tenant_factory()
    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    async with AsyncTestClient(create_app(limited)) as client:
        statuses = [
            (await client.get("/workspace", headers=busy.headers)).status_code for _ in range(5)
        ]
        refused = await client.get("/workspace", headers=busy.headers)
        other = await client.get("/workspace", headers=calm.headers)
    assert statuses == [200, 200, 200, 429, 429]
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "30"  # the rest of the frozen window
    assert refused.json()["code"] == "rate_limited"
    assert other.status_code == 200


async def test_cors_allows_only_configured_origins(settings) -> None:
    cors = settings.model_copy(update={"cors_allow_origins": "https://app.example"})
    preflight = {"Access-Control-Request-Method": "GET"}
    async with AsyncTestClient(create_app(cors)) as client:
        allowed = await client.options(
            "/workflows", headers={"Origin": "https://app.example", **preflight}
        )
        other = await client.options(
            "/workflows", headers={"Origin": "https://evil.example", **preflight}
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"


async def test_metrics_need_the_token_or_an_admin_key(settings, tenant_factory) -> None:
    viewer, admin = await tenant_factory(role="viewer"), await tenant_factory(role="admin")
    with_token = settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})
    async with AsyncTestClient(create_app(with_token)) as client:
        await client.get("/workspace", headers=viewer.headers)
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        as_viewer = await client.get("/metrics", headers=viewer.headers)
        as_admin = await client.get("/metrics", headers=admin.headers)
        scraped = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert as_viewer.status_code == 403
    assert as_admin.status_code == 200
    assert scraped.status_code == 200
    text = scraped.text
    assert scraped.headers["content-type"].startswith("text/plain")
    assert 'reporunner_http_requests_total{method="GET",route="/workspace",status="200"}' in text
    assert "reporunner_http_request_duration_seconds_bucket" in text
    assert "reporunner_queue_depth " in text
    assert "reporunner_llm_tokens_total" in text
    assert "reporunner_node_run_duration_seconds" in text


def test_json_logs_carry_request_and_execution_ids() -> None:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": "hi %s", "args": (1,)})
    token = request_id_var.set("req-1")
    try:
        with bind_execution("exec-9"):
            assert ContextFilter().filter(record)
            line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hi 1"
    assert line["request_id"] == "req-1"
    assert line["execution_id"] == "exec-9"
