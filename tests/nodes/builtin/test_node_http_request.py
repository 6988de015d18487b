"""``http.request`` against a real HTTP server on 127.0.0.1, through the SSRF-guarded client."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from _action_peers import LocalHTTPServer, Reply, Seen, guarded_ctx
from pydantic import BaseModel, SecretStr

from reporunner.nodes.builtin import _http
from reporunner.nodes.builtin.http_request import HttpRequest
from reporunner.nodes.credentials import (
    ApiKeyCredential,
    BasicAuthCredential,
    BearerTokenCredential,
    OAuth2ClientCredentials,
)
from reporunner.nodes.errors import CredentialError, NodeError, SSRFBlockedError
from reporunner.nodes.testing import NodeTestContext, run_node

TOKEN = "tok-SECRET-7f3a9"
KEY = "key-SECRET-1b2c3"
PASSWORD = "pw-SECRET-xyz"
CLIENT_SECRET = "cs-SECRET-0099"
ACCESS = "at-SECRET-4455"


def _json(data: object, status: int = 200, **headers: str) -> Reply:
    return Reply(status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


def _query(seen: Seen) -> dict[str, list[str]]:
    return parse_qs(urlsplit(seen.path).query)


class Script:
    """Answers by path; lists of replies are served in order (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.hold = threading.Event()

    def __call__(self, seen: Seen) -> Reply:
        path = urlsplit(seen.path).path
        if path == "/slow":
            self.hold.wait(10)
            return Reply(200, b"late")
        if path == "/echo":
            return _json(
                {
                    "method": seen.method,
                    "query": _query(seen),
                    "headers": seen.headers,
                    "body": seen.body.decode("latin-1"),
                }
            )
        replies = self.replies.get(path) or [Reply(404, b"no route")]
        return replies.pop(0) if len(replies) > 1 else replies[0]


@pytest.fixture(scope="module")
def script() -> Script:
    return Script()


@pytest.fixture(scope="module")
def server(script: Script) -> Iterator[LocalHTTPServer]:
    srv = LocalHTTPServer(script)
    yield srv
    script.hold.set()
    srv.close()


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the backoff delays instead of sleeping them."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(_http, "_sleep", fake_sleep)
    return recorded


async def test_get_with_query_and_headers_outputs_parsed_json(server: LocalHTTPServer) -> None:
    out = await run_node(
        HttpRequest,
        {
            "url": f"{server.url}/echo?inline=1",
            "query": {"q": "x y", "n": 2, "tag": ["a", "b"]},
            "headers": {"X-A": "1"},
        },
        ctx=guarded_ctx(),
    )
    [item] = out.ports["main"]
    assert item["status"] == 200
    assert item["body"]["query"] == {"inline": ["1"], "q": ["x y"], "n": ["2"], "tag": ["a", "b"]}
    assert item["body"]["headers"]["x-a"] == "1"
    assert item["headers"]["content-type"] == "application/json"


async def test_runs_once_per_input_item(server: LocalHTTPServer) -> None:
    before = len(server.seen)
    out = await run_node(
        HttpRequest, {"url": f"{server.url}/echo"}, {"main": [{"a": 1}, {"a": 2}]}, guarded_ctx()
    )
    assert len(out.ports["main"]) == 2
    assert len(server.seen) == before + 2


@pytest.mark.parametrize(
    ("body_type", "body", "expect_type", "expect_body"),
    [
        ("json", {"a": [1, 2]}, "application/json", '{"a":[1,2]}'),
        ("form", {"a": "1", "b": True}, "application/x-www-form-urlencoded", "a=1&b=true"),
        ("raw", "<x/>", "text/plain; charset=utf-8", "<x/>"),
    ],
)
async def test_request_bodies(
    server: LocalHTTPServer, body_type: str, body: object, expect_type: str, expect_body: str
) -> None:
    params = {"method": "POST", "url": f"{server.url}/echo", "body_type": body_type, "body": body}
    out = await run_node(HttpRequest, params, ctx=guarded_ctx())
    echoed = out.ports["main"][0]["body"]
    assert echoed["headers"]["content-type"] == expect_type
    assert echoed["body"].replace(" ", "") == expect_body


async def test_multipart_body_with_file(server: LocalHTTPServer) -> None:
    file = {
        "filename": "a.bin",
        "content_base64": base64.b64encode(b"\x00\x01data").decode(),
        "mime_type": "application/x-test",
    }
    params = {
        "method": "POST",
        "url": f"{server.url}/echo",
        "body_type": "multipart",
        "body": {"note": "hi", "upload": file},
    }
    out = await run_node(HttpRequest, params, ctx=guarded_ctx())
    echoed = out.ports["main"][0]["body"]
    assert echoed["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert 'name="upload"; filename="a.bin"' in echoed["body"]
    assert "application/x-test" in echoed["body"]
    assert "\x00\x01data" in echoed["body"]
    assert 'name="note"' in echoed["body"]


@pytest.mark.parametrize(
    ("auth", "cred", "check"),
    [
        (
            "api_key",
            ApiKeyCredential(api_key=SecretStr(KEY)),
            lambda b: b["headers"]["x-api-key"] == KEY,
        ),
        (
            "api_key",
            ApiKeyCredential(api_key=SecretStr(KEY), name="api_key", location="query"),
            lambda b: b["query"]["api_key"] == [KEY],
        ),
        (
            "bearer_token",
            BearerTokenCredential(token=SecretStr(TOKEN)),
            lambda b: b["headers"]["authorization"] == f"Bearer {TOKEN}",
        ),
        (
            "basic_auth",
            BasicAuthCredential(username="ann", password=SecretStr(PASSWORD)),
            lambda b: (
                b["headers"]["authorization"]
                == "Basic " + base64.b64encode(f"ann:{PASSWORD}".encode()).decode()
            ),
        ),
    ],
)
async def test_auth_from_credentials(
    server: LocalHTTPServer, auth: str, cred: BaseModel, check: object
) -> None:
    ctx = guarded_ctx(credentials={auth: cred})
    out = await run_node(HttpRequest, {"url": f"{server.url}/echo", "auth": auth}, ctx=ctx)
    assert callable(check)
    assert check(out.ports["main"][0]["body"])


async def test_oauth2_client_credentials_token_is_fetched_once_and_sent(
    server: LocalHTTPServer, script: Script
) -> None:
    script.replies["/token"] = [_json({"access_token": ACCESS, "expires_in": 3600})]
    cred = OAuth2ClientCredentials(
        token_url=f"{server.url}/token",
        client_id="cid",
        scope="read",
        client_secret=SecretStr(CLIENT_SECRET),
    )
    ctx = guarded_ctx(credentials={"oauth2_client_credentials": cred})
    params = {"url": f"{server.url}/echo", "auth": "oauth2_client_credentials"}
    before = len(server.seen)
    out = await run_node(HttpRequest, params, {"main": [{}, {}]}, ctx)
    token_calls = [s for s in server.seen[before:] if s.path == "/token"]
    assert len(token_calls) == 1
    assert parse_qs(token_calls[0].body.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["read"],
    }
    expected = "Basic " + base64.b64encode(f"cid:{CLIENT_SECRET}".encode()).decode()
    assert token_calls[0].headers["authorization"] == expected
    for item in out.ports["main"]:
        assert item["body"]["headers"]["authorization"] == f"Bearer {ACCESS}"


async def test_retries_5xx_honouring_retry_after_with_a_bound(
    server: LocalHTTPServer, script: Script, delays: list[float]
) -> None:
    script.replies["/flaky"] = [
        Reply(503, b"busy", {"Retry-After": "2"}),
        Reply(429, b"slow down", {"Retry-After": "9999"}),
        Reply(502, b"bad gateway"),
        _json({"ok": True}),
    ]
    params = {
        "url": f"{server.url}/flaky",
        "retries": 3,
        "retry_backoff": 0.25,
        "max_retry_wait": 5,
    }
    out = await run_node(HttpRequest, params, ctx=guarded_ctx())
    assert out.ports["main"][0]["body"] == {"ok": True}
    assert delays == [2.0, 5.0, 1.0]  # Retry-After, Retry-After capped, backoff 0.25 * 2**2


async def test_exhausted_retries_fail_retryable(
    server: LocalHTTPServer, script: Script, delays: list[float]
) -> None:
    script.replies["/down"] = [Reply(503, b"down for maintenance")]
    with pytest.raises(NodeError) as info:
        await run_node(HttpRequest, {"url": f"{server.url}/down", "retries": 2}, ctx=guarded_ctx())
    assert info.value.retryable
    assert "answered 503" in info.value.detail
    assert "fail_on_error_status" in info.value.detail
    assert delays == [0.5, 1.0]


async def test_error_status_can_be_passed_downstream(
    server: LocalHTTPServer, script: Script
) -> None:
    script.replies["/missing"] = [_json({"error": "nope"}, 404)]
    params = {"url": f"{server.url}/missing", "fail_on_error_status": False}
    out = await run_node(HttpRequest, params, ctx=guarded_ctx())
    assert out.ports["main"][0]["status"] == 404
    assert out.ports["main"][0]["body"] == {"error": "nope"}


async def test_timeouts_are_retried_then_fail(server: LocalHTTPServer, delays: list[float]) -> None:
    params = {"url": f"{server.url}/slow", "timeout": 0.2, "retries": 1}
    with pytest.raises(NodeError, match=r"timed out after 2 attempt\(s\)") as info:
        await run_node(HttpRequest, params, ctx=guarded_ctx())
    assert info.value.retryable
    assert len(delays) == 1


async def test_binary_and_text_responses(server: LocalHTTPServer, script: Script) -> None:
    png = b"\x89PNG\r\n\x1a\nrest"
    script.replies["/img"] = [Reply(200, png, {"Content-Type": "image/png"})]
    script.replies["/txt"] = [Reply(200, b"plain words", {"Content-Type": "text/plain"})]
    out = await run_node(HttpRequest, {"url": f"{server.url}/img"}, ctx=guarded_ctx())
    body = out.ports["main"][0]["body"]
    assert body == {"data": base64.b64encode(png).decode(), "mime_type": "image/png", "size": 12}
    out = await run_node(HttpRequest, {"url": f"{server.url}/txt"}, ctx=guarded_ctx())
    assert out.ports["main"][0]["body"] == "plain words"
    with pytest.raises(NodeError, match="is not JSON"):
        await run_node(
            HttpRequest, {"url": f"{server.url}/txt", "response_format": "json"}, ctx=guarded_ctx()
        )


async def test_pagination_by_link_header(server: LocalHTTPServer, script: Script) -> None:
    script.replies["/p1"] = [_json({"rows": [1, 2]}, Link=f'<{server.url}/p2?x=1>; rel="next"')]
    script.replies["/p2"] = [_json({"rows": [3]}, Link='</p3>; rel="next"')]
    script.replies["/p3"] = [_json({"rows": [4]})]
    params = {
        "url": f"{server.url}/p1",
        "query": {"x": "1"},
        "pagination": {"mode": "link_header", "items_field": "rows"},
    }
    out = await run_node(HttpRequest, params, ctx=guarded_ctx())
    assert out.ports["main"] == [{"value": 1}, {"value": 2}, {"value": 3}, {"value": 4}]
    assert [s.path for s in server.seen[-3:]] == ["/p1?x=1", "/p2?x=1", "/p3"]


async def test_pagination_by_body_field_and_by_cursor(
    server: LocalHTTPServer, script: Script
) -> None:
    script.replies["/b1"] = [_json({"data": [{"id": 1}], "links": {"next": "/b2"}})]
    script.replies["/b2"] = [_json({"data": [{"id": 2}], "links": {"next": None}})]
    params = {
        "url": f"{server.url}/b1",
        "pagination": {"mode": "body_field", "next_field": "links.next", "items_field": "data"},
    }
    out = await run_node(HttpRequest, params, ctx=guarded_ctx())
    assert out.ports["main"] == [{"id": 1}, {"id": 2}]

    script.replies["/c"] = [
        _json({"items": [{"id": "a"}], "meta": {"cursor": "c2"}}),
        _json({"items": [{"id": "b"}], "meta": {"cursor": "c3"}}),
        _json({"items": [{"id": "c"}], "meta": {"cursor": None}}),
    ]
    params = {
        "url": f"{server.url}/c",
        "query": {"limit": 1},
        "pagination": {"mode": "cursor", "cursor_field": "meta.cursor", "items_field": "items"},
    }
    out = await run_node(HttpRequest, params, ctx=guarded_ctx())
    assert [i["id"] for i in out.ports["main"]] == ["a", "b", "c"]
    assert [s.path for s in server.seen[-3:]] == [
        "/c?limit=1",
        "/c?limit=1&cursor=c2",
        "/c?limit=1&cursor=c3",
    ]


async def test_pagination_stops_at_max_pages(server: LocalHTTPServer, script: Script) -> None:
    script.replies["/loop"] = [_json({"n": 1}, Link='</loop>; rel="next"')]
    params = {"url": f"{server.url}/loop", "pagination": {"mode": "link_header", "max_pages": 3}}
    out = await run_node(HttpRequest, params, ctx=guarded_ctx())
    assert len(out.ports["main"]) == 3


async def test_idempotency_key_header_is_stable_per_item(server: LocalHTTPServer) -> None:
    params = {"method": "POST", "url": f"{server.url}/echo", "idempotency_key": True}
    items = {"main": [{"order": 1}, {"order": 2}]}

    async def keys(execution_id: str) -> list[str]:
        ctx = guarded_ctx(execution_id=execution_id, node_id="charge")
        out = await run_node(HttpRequest, params, items, ctx)
        found = [i["body"]["headers"]["idempotency-key"] for i in out.ports["main"]]
        assert all(k.startswith(ctx.idempotency_key()) for k in found)
        return found

    first = await keys("ex-1")
    assert first[0] != first[1], "each item gets its own key"
    assert await keys("ex-1") == first, "a resumed execution sends the same keys"
    assert set(await keys("ex-2")).isdisjoint(first)


async def test_private_targets_and_redirects_to_them_are_refused(
    server: LocalHTTPServer, script: Script
) -> None:
    with pytest.raises(SSRFBlockedError, match="private address"):
        await run_node(HttpRequest, {"url": "http://10.1.2.3/admin"}, ctx=guarded_ctx())
    script.replies["/hop"] = [Reply(302, b"", {"Location": f"http://localhost:{server.port}/echo"})]
    with pytest.raises(SSRFBlockedError, match="localhost"):
        await run_node(HttpRequest, {"url": f"{server.url}/hop"}, ctx=guarded_ctx())
    out = await run_node(
        HttpRequest, {"url": f"{server.url}/hop", "follow_redirects": False}, ctx=guarded_ctx()
    )
    assert out.ports["main"][0]["status"] == 302


@pytest.mark.parametrize(
    ("auth", "cred", "secrets"),
    [
        ("bearer_token", BearerTokenCredential(token=SecretStr(TOKEN)), [TOKEN]),
        (
            "api_key",
            ApiKeyCredential(api_key=SecretStr(KEY), name="key", location="query"),
            [KEY],
        ),
        (
            "basic_auth",
            BasicAuthCredential(username="ann", password=SecretStr(PASSWORD)),
            [PASSWORD],
        ),
    ],
)
async def test_failing_node_leaks_no_secret(
    server: LocalHTTPServer,
    caplog: pytest.LogCaptureFixture,
    delays: list[float],
    auth: str,
    cred: BaseModel,
    secrets: list[str],
) -> None:
    # /echo-fail answers 500 and echoes the whole request (auth header, query) in its body.
    def echo_fail(seen: Seen) -> Reply:
        return Reply(500, f"{seen.path} {seen.headers}".encode(), {"Content-Type": "text/plain"})

    server.route, original = echo_fail, server.route
    try:
        ctx = NodeTestContext(
            http_client=guarded_ctx().http,
            credentials={auth: cred},
            logger=logging.getLogger("reporunner.node"),
        )
        caplog.set_level(logging.DEBUG)
        with pytest.raises(NodeError) as info:
            await run_node(
                HttpRequest, {"url": f"{server.url}/x", "auth": auth, "retries": 1}, ctx=ctx
            )
    finally:
        server.route = original
    assert "answered 500" in info.value.detail
    assert "***" in info.value.detail
    shown = [info.value.detail, str(info.value), repr(info.value), repr(cred)]
    shown += [r.getMessage() for r in caplog.records]
    assert any("retrying" in line for line in shown)
    for secret in secrets:
        for line in shown:
            assert secret not in line


async def test_oauth2_client_secret_post_and_wrong_credential_type(
    server: LocalHTTPServer, script: Script
) -> None:
    script.replies["/token2"] = [_json({"access_token": ACCESS})]
    cred = OAuth2ClientCredentials(
        token_url=f"{server.url}/token2",
        client_id="cid2",
        client_secret=SecretStr(CLIENT_SECRET),
        auth_method="client_secret_post",
        audience="api",
    )
    ctx = guarded_ctx(credentials={"oauth2_client_credentials": cred})
    params = {"url": f"{server.url}/echo", "auth": "oauth2_client_credentials"}
    out = await run_node(HttpRequest, params, ctx=ctx)
    assert out.ports["main"][0]["body"]["headers"]["authorization"] == f"Bearer {ACCESS}"
    token_call = next(s for s in reversed(server.seen) if s.path == "/token2")
    assert parse_qs(token_call.body.decode())["client_secret"] == [CLIENT_SECRET]
    assert "authorization" not in token_call.headers

    wrong = guarded_ctx(
        credentials={"bearer_token": BasicAuthCredential(username="u", password=SecretStr("p"))}
    )
    with pytest.raises(CredentialError, match="needs a 'bearer_token' credential"):
        await run_node(
            HttpRequest, {"url": f"{server.url}/echo", "auth": "bearer_token"}, ctx=wrong
        )


async def test_api_key_is_not_forwarded_to_another_origin_on_redirect(
    server: LocalHTTPServer, script: Script
) -> None:
    # 127.0.0.1 and localhost are two origins of the same server; both are allow-listed here.
    from reporunner.nodes.ssrf import SSRFPolicy, guarded_client

    other = f"http://localhost:{server.port}"
    script.replies["/same"] = [Reply(302, b"", {"Location": "/echo"})]
    script.replies["/away"] = [Reply(307, b"", {"Location": f"{other}/echo?keep=1"})]
    client = guarded_client(SSRFPolicy(allow_hosts=("127.0.0.1", "localhost")))
    for location in ("header", "query"):
        cred = ApiKeyCredential(api_key=SecretStr(KEY), name="api_key", location=location)
        ctx = NodeTestContext(http_client=client, credentials={"api_key": cred})
        same = await run_node(
            HttpRequest, {"url": f"{server.url}/same", "auth": "api_key"}, ctx=ctx
        )
        echoed = same.ports["main"][0]["body"]
        assert KEY in (echoed["headers"].get("api_key"), *echoed["query"].get("api_key", []))
        away = await run_node(
            HttpRequest, {"url": f"{server.url}/away", "auth": "api_key"}, ctx=ctx
        )
        echoed = away.ports["main"][0]["body"]
        assert away.ports["main"][0]["url"] == f"{other}/echo"
        assert "api_key" not in echoed["headers"]
        assert echoed["query"] == {"keep": ["1"]}
    await client.aclose()


async def test_redirect_loops_are_bounded(server: LocalHTTPServer, script: Script) -> None:
    script.replies["/loop-redirect"] = [Reply(302, b"", {"Location": "/loop-redirect"})]
    with pytest.raises(NodeError, match="more than 5 redirects"):
        await run_node(HttpRequest, {"url": f"{server.url}/loop-redirect"}, ctx=guarded_ctx())
