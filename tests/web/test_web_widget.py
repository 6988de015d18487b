"""The embeddable chat widget in a real browser: ``/widget.js`` served by ``reporunner serve``
and embedded in pages of other origins (other local ports), and the admin page that makes it."""

from __future__ import annotations

import gzip
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from scripted_llm import ScriptServer, Stream
from web_testkit import WEB, Server, shot

pytestmark = pytest.mark.timeout(300)
ANSWER_MS = 60_000  # a turn runs on a worker process of the served app: a deadline, not a pace

HOST_PAGE = """<!doctype html>
<html><head><title>A shop</title>
<style>button {{ color: rgb(255, 0, 0) !important; font-size: 30px; }}
div {{ border: 3px solid rgb(0, 128, 0); }} body {{ font-family: serif; }}</style></head>
<body><h1>A shop</h1><button id="host-button" type="button">Host button</button>
<script src="{base}/widget.js" data-chat="{public_id}" defer></script></body></html>
"""


FRAME_PAGE = """<!doctype html>
<html><head><title>A framing shop</title></head><body><h1>A framing shop</h1>
<iframe src="{base}/public/widgets/{public_id}/frame" title="Chat" width="380" height="480">
</iframe></body></html>
"""


class HostSite:
    """A page on its own origin (127.0.0.1:<port>) that embeds the widget ``?id=`` names."""

    def __init__(self, api_base: str) -> None:
        base = api_base

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                public_id = query.get("id", [""])[0]
                page = FRAME_PAGE if query.get("mode") == ["frame"] else HOST_PAGE
                body = page.format(base=base, public_id=public_id).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def page_url(self, public_id: str, mode: str = "script") -> str:
        return f"{self.origin}/?id={public_id}&mode={mode}"

    def __enter__(self) -> HostSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


@pytest.fixture(scope="module")
def workers_ready(server: Server) -> None:
    """A manual run has finished: the served app's worker processes have joined the queue (on
    a busy machine they take a while to start; a chat turn would wait for them instead)."""
    status, made = server.api(
        "POST", "/workflows?publish=true",
        {"name": "warm-up", "nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []},
    )  # fmt: skip
    assert status == 201, made
    status, run = server.api("POST", f"/workflows/{made['workflow']['id']}/executions", {})
    assert status == 201, run
    deadline = time.monotonic() + 240
    while True:
        status, body = server.api("GET", f"/executions/{run['id']}")
        if body["status"] in ("succeeded", "failed"):
            assert body["status"] == "succeeded", body
            return
        assert time.monotonic() < deadline, f"no worker took the run: {body}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def shop(server: Server, workers_ready: None) -> Iterator[HostSite]:
    with HostSite(server.base) as site:
        yield site


@pytest.fixture(scope="module")
def stranger(server: Server) -> Iterator[HostSite]:
    with HostSite(server.base) as site:
        yield site


def agent_chat(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "nodes": [
            {"id": "chat", "type": "trigger.chat"},
            {
                "id": "agent",
                "type": "ai.agent",
                "params": {
                    "model": "scripted/web",
                    "prompt": "{{ trigger.message }}",
                    "history": "{{ trigger.history }}",
                    "stream": True,
                },
            },
        ],
        "edges": [{"source": "chat", "target": "agent"}],
    }


ECHO_CHAT = {
    "name": "echo chat",
    "nodes": [
        {"id": "chat", "type": "trigger.chat"},
        {
            "id": "echo",
            "type": "data.set",
            "params": {"fields": [{"name": "text", "value": "echo: {{ trigger.message }}"}]},
        },
    ],
    "edges": [{"source": "chat", "target": "echo"}],
}


def published(server: Server, definition: dict[str, Any]) -> str:
    status, body = server.api("POST", "/workflows?publish=true", definition)
    assert status == 201, body
    return str(body["workflow"]["id"])


def widget(server: Server, workflow_id: str, origins: list[str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Shop help", "workflow_id": workflow_id, "allowed_origins": origins, **fields}
    status, made = server.api("POST", "/widgets", body)
    assert status == 201, made
    return dict(made)


def executions(server: Server, workflow_id: str) -> int:
    status, page = server.api("GET", f"/executions?workflow_id={workflow_id}")
    assert status == 200, page
    return len(page["items"])


@pytest.fixture
def visitor_page(context: BrowserContext) -> Iterator[Page]:
    """A page for other origins (the context's base URL is the app's)."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    assert not errors, f"uncaught errors in the page: {errors}"


def test_the_page_client_names_the_fields_of_the_api(server: Server) -> None:
    """web/src/widgets/api.ts's WidgetOut carries exactly the fields of the OpenAPI model."""
    status, doc = server.api("GET", "/docs/openapi.json")
    assert status == 200
    source = (WEB / "src" / "widgets" / "api.ts").read_text()
    body = re.search(r"export interface WidgetOut \{\n(.*?)\n\}", source, re.S)
    assert body is not None
    fields = set(re.findall(r"^  (\w+)\??:", body.group(1), re.M))
    assert fields == set(doc["components"]["schemas"]["WidgetOut"]["properties"])


def test_widget_js_is_small(server: Server) -> None:
    with urllib.request.urlopen(server.base + "/widget.js", timeout=30) as res:
        body = res.read()
        kind = res.headers["content-type"]
    assert "javascript" in kind
    assert len(gzip.compress(body, 9)) < 50_000  # BENCHMARKS.md reports the measured size


def test_a_visitor_on_an_allowed_origin_chats_and_gets_the_streamed_answer(
    server: Server, shop: HostSite, visitor_page: Page, llm: ScriptServer
) -> None:
    page = visitor_page
    made = widget(
        server, published(server, agent_chat("shop chat")), [shop.origin],
        greeting="Hi! Ask me about orders.", colors={"accent": "#0f766e"},
    )  # fmt: skip
    llm.plan(Stream(["Your order ", "ships ", "tomorrow."]))
    page.goto(shop.page_url(made["public_id"]))
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_text("Hi! Ask me about orders.")).to_be_visible()
    box = page.get_by_role("textbox", name="Message")
    box.fill("Where is my order?")
    with page.expect_response(lambda r: r.url.endswith("/messages")) as sent:
        box.press("Enter")
    assert sent.value.headers["content-type"].startswith("text/event-stream")
    assert sent.value.headers["access-control-allow-origin"] == shop.origin
    streamed = sent.value.text()  # the SSE body the widget read: tokens, then the answer
    assert streamed.count("event: token") == 3
    assert streamed.index("event: token") < streamed.index("event: final")
    expect(page.get_by_text("Your order ships tomorrow.")).to_be_visible(timeout=ANSWER_MS)
    assert llm.requests[-1]["messages"][-1]["content"] == "Where is my order?"
    shot(page, "widget-chat")
    # the host page keeps its styles and the widget keeps its own
    host_color = page.eval_on_selector("#host-button", "b => getComputedStyle(b).color")
    send_color = page.evaluate(
        """() => {
            const root = document.querySelector('[data-reporunner-chat]').shadowRoot;
            return getComputedStyle(root.querySelector('form button')).color;
        }"""
    )
    host_border = page.eval_on_selector(
        "[data-reporunner-chat]", "h => getComputedStyle(h).borderTopWidth"
    )
    assert host_color == "rgb(255, 0, 0)"
    assert host_border == "0px"  # the page's `div { border }` does not reach the widget
    assert send_color == "rgb(255, 255, 255)"
    # a reload keeps the visitor: their thread comes back
    page.reload()
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_text("Your order ships tomorrow.")).to_be_visible()
    expect(page.get_by_text("Where is my order?")).to_be_visible()


def test_a_page_on_an_origin_not_allowed_gets_nothing(
    server: Server, shop: HostSite, stranger: HostSite, visitor_page: Page
) -> None:
    page = visitor_page
    workflow = published(server, agent_chat("private chat"))
    made = widget(server, workflow, [shop.origin])
    # the browser refuses the answer (no CORS header for this origin): the request fails
    with page.expect_event("requestfailed", lambda r: "/config" in r.url):
        page.goto(stranger.page_url(made["public_id"]))
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-reporunner-chat]").count() == 0
    # the page's own script cannot start a visitor or a chat either
    outcome = page.evaluate(
        """async ([base, id]) => {
            const url = `${base}/public/widgets/${id}/visitors`;
            try { const r = await fetch(url, {method: 'POST'}); return 'read ' + r.status; }
            catch { return 'blocked'; }
        }""",
        [server.base, made["public_id"]],
    )
    assert outcome == "blocked"
    assert executions(server, workflow) == 0
    shot(page, "widget-other-origin")


def test_another_widgets_id_cannot_start_this_workflow(
    server: Server, shop: HostSite, visitor_page: Page, llm: ScriptServer
) -> None:
    page = visitor_page
    ours = published(server, agent_chat("guarded chat"))
    ours_widget = widget(server, ours, [shop.origin])
    echo = published(server, ECHO_CHAT)
    other = widget(server, echo, [shop.origin], name="Echo")
    # the other widget's bubble chats with its own workflow only
    page.goto(shop.page_url(other["public_id"]))
    page.get_by_role("button", name="Open chat").click()
    page.get_by_role("textbox", name="Message").fill("hello")
    page.get_by_role("textbox", name="Message").press("Enter")
    expect(page.get_by_text("echo: hello")).to_be_visible(timeout=ANSWER_MS)
    # its visitor token, and a body naming our workflow, cannot reach ours
    answers = page.evaluate(
        """async ([base, ours, other, workflow]) => {
            const token = localStorage.getItem(`reporunner-chat:${base}:${other}`);
            const send = (id, body) => fetch(`${base}/public/widgets/${id}/messages`, {
                method: 'POST', headers: {'Content-Type': 'text/plain'}, body: JSON.stringify(body),
            }).then(async r => [r.status, (await r.json()).code]);
            return [
                await send(ours, {token, content: 'hi'}),
                await send(other, {token, content: 'hi', workflow_id: workflow}),
            ];
        }""",
        [server.base, ours_widget["public_id"], other["public_id"], ours],
    )
    assert answers == [[401, "visitor_token_invalid"], [400, "invalid_request"]]
    assert executions(server, ours) == 0
    assert executions(server, echo) == 1
    assert llm.requests == []


def test_an_admin_creates_a_widget_and_copies_its_snippet(
    server: Server, owner_page: Page, shop: HostSite
) -> None:
    page = owner_page
    published(server, {**ECHO_CHAT, "name": "page chat"})
    page.goto("/settings/widgets")
    page.get_by_role("button", name="New widget").click()
    page.get_by_label("Name").fill("Docs helper")
    page.get_by_label("Chat workflow").select_option(label="page chat (v1)")
    page.get_by_label("Allowed origins (one a line)").fill("https://docs.example/")
    page.get_by_label("Greeting").fill("Hello from the docs")
    page.get_by_role("button", name="Save widget").click()
    expect(page.get_by_role("alert")).to_contain_text("/allowed_origins/0")  # trailing slash
    page.get_by_label("Allowed origins (one a line)").fill(f"https://docs.example\n{shop.origin}")
    page.get_by_role("button", name="Save widget").click()
    row = page.get_by_role("row").filter(has_text="Docs helper")
    expect(row).to_contain_text(f"https://docs.example, {shop.origin}")
    snippet = row.get_by_label("Snippet").inner_text()
    assert snippet.startswith(f'<script src="{server.base}/widget.js" data-chat="wg_')
    shot(page, "widget-settings")
    row.get_by_role("button", name="Edit").click()
    page.get_by_label("Greeting").fill("Changed greeting")
    page.get_by_role("button", name="Save widget").click()
    expect(page.get_by_role("button", name="Save widget")).to_have_count(0)
    status, listed = server.api("GET", "/widgets")
    assert status == 200
    mine = next(w for w in listed["items"] if w["name"] == "Docs helper")
    assert mine["greeting"] == "Changed greeting"
    assert mine["allowed_origins"] == ["https://docs.example", shop.origin]


def test_the_iframe_page_shows_only_inside_an_allowed_origin(
    server: Server, shop: HostSite, stranger: HostSite, visitor_page: Page
) -> None:
    page = visitor_page
    workflow = published(server, {**ECHO_CHAT, "name": "framed chat"})
    made = widget(server, workflow, [shop.origin], greeting="Framed hello")
    page.goto(shop.page_url(made["public_id"], mode="frame"))
    frame = page.frame_locator("iframe")
    expect(frame.get_by_text("Framed hello")).to_be_visible()
    frame.get_by_role("textbox", name="Message").fill("in a frame")
    frame.get_by_role("textbox", name="Message").press("Enter")
    expect(frame.get_by_text("echo: in a frame")).to_be_visible(timeout=ANSWER_MS)
    shot(page, "widget-iframe")
    # frame-ancestors: another origin's frame stays empty
    with page.expect_response(lambda r: r.url.endswith("/frame")) as answer:
        page.goto(stranger.page_url(made["public_id"], mode="frame"))
    page.wait_for_load_state("networkidle")
    assert answer.value.status == 200  # served, but the browser refuses to show it
    assert f"frame-ancestors {shop.origin};" in answer.value.headers["content-security-policy"]
    child = page.frames[-1]
    assert child is not page.main_frame
    assert child.url.startswith("chrome-error://"), child.url
    assert frame.get_by_role("textbox", name="Message").count() == 0
    assert executions(server, workflow) == 1
