"""The chat pages in a real browser against a real server whose model is the scripted provider
(scripted_llm.py): an agent searches a knowledge base, its answer streams token by token, the
tool step opens to show its arguments and result (also after a reload), a citation opens the
document at the cited passage (a PDF in the browser's viewer at its page); a model's HTML
stays text; memories are listed and forgotten."""

from __future__ import annotations

import io
import re
import time
import urllib.request
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from scripted_llm import Fail, Reply, ScriptServer, Stream, tool_call
from test_web_scripted_llm import sse
from web_testkit import Server, shot

pytestmark = pytest.mark.timeout(400)

REFUNDS = "# Refunds\n\nRefunds are paid back within 5 working days.\n"


def knowledge_base(server: Server, name: str, files: dict[str, str]) -> str:
    """A knowledge base holding ``files`` (name -> text), every document ingested."""
    status, base = server.api("POST", "/knowledge-bases", {"name": name})
    assert status == 201, base
    for file_name, text in files.items():
        status, body = server.api(
            "POST", f"/knowledge-bases/{base['id']}/documents", {"text": text, "name": file_name}
        )
        assert status == 202, body
    # the workers ingest them (the first embedding loads the local model: a long deadline)
    deadline = time.monotonic() + 240
    docs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        status, docs = server.api("GET", f"/knowledge-bases/{base['id']}/documents")
        assert status == 200, docs
        assert not [d for d in docs if d["status"] == "failed"], docs
        if len(docs) == len(files) and all(d["status"] == "ready" for d in docs):
            return str(base["id"])
        time.sleep(0.5)
    raise AssertionError(f"documents not ingested in time: {docs}")


def test_an_agent_searches_knowledge_streams_and_cites(
    owner_page: Page, server: Server, llm: ScriptServer
) -> None:
    page = owner_page
    knowledge_base(server, "handbook", {"refunds.md": REFUNDS})
    llm.plan(
        Stream([tool_call("knowledge_search", {"query": "refund time"}, id="c1")]),
        Stream(["Refunds take ", "5 working days ", "[1]."]),
    )
    page.goto("/chat")
    page.get_by_label("Title").fill("Refund questions")
    page.get_by_role("group", name="Knowledge bases").get_by_label(re.compile("handbook")).check()
    page.get_by_role("button", name="Start chat").click()
    page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    page.get_by_role("textbox", name="Message").fill("How long do refunds take?")
    page.get_by_role("textbox", name="Message").press("Enter")

    answer = page.get_by_test_id("message-assistant")
    # the search embeds the question with the local model, loaded on first use in the API process
    expect(answer.locator(".msg-text")).to_have_text(
        "Refunds take 5 working days [1].", timeout=180_000
    )
    # three token events reached the page one by one before the stored answer replaced them
    expect(page.get_by_role("list", name="Messages")).to_have_attribute("data-streamed-tokens", "3")
    step = answer.get_by_test_id("tool-step")
    expect(step).to_contain_text("knowledge_search")
    step.locator("summary").click()
    expect(step.get_by_label("Arguments")).to_contain_text("refund time")
    expect(step.get_by_label("Result")).to_contain_text("within 5 working days")
    citation = answer.get_by_test_id("citation")
    expect(citation).to_contain_text("refunds.md")
    expect(citation).to_contain_text("Refunds")
    expect(page.get_by_role("navigation", name="Chat threads")).to_contain_text("Refund questions")
    shot(page, "chat-answer")

    # the steps and citations are stored: a reload shows them again
    page.reload()
    answer = page.get_by_test_id("message-assistant")
    step = answer.get_by_test_id("tool-step")
    step.locator("summary").click()
    expect(step.get_by_label("Result")).to_contain_text("within 5 working days")
    expect(answer.get_by_test_id("citation")).to_contain_text("refunds.md")
    assert llm.remaining == 0
    assert "knowledge_search" in llm.requests[0]["tools"]

    # the citation opens the document's text at the cited passage, highlighted
    answer.get_by_test_id("citation").get_by_role("link", name="refunds.md").click()
    page.wait_for_url(re.compile(r"/knowledge/[0-9a-f-]{36}/documents/[0-9a-f-]{36}\?chunk="))
    expect(page.get_by_role("heading", name="refunds.md")).to_be_visible()
    cited = page.get_by_role("region", name="Cited passage")
    expect(cited).to_contain_text("Refunds are paid back within 5 working days.")
    expect(cited).to_have_class(re.compile(r"\bcited\b"))
    expect(cited).to_be_in_viewport()
    shot(page, "citation-document-view")


def make_pdf(pages: list[str]) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for text in pages:
        pdf.drawString(50, 780, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def upload(server: Server, base_id: str, name: str, data: bytes, kind: str) -> None:
    """One file uploaded as a browser's form would (multipart), with the owner's API key."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: {kind}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{server.base}/knowledge-bases/{base_id}/documents", data=body, method="POST",
        headers={"Authorization": f"Bearer {server.api_key}",
                 "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 202


def wait_ready(server: Server, base_id: str, count: int) -> None:
    deadline = time.monotonic() + 240  # the first embedding loads the local model
    docs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        status, docs = server.api("GET", f"/knowledge-bases/{base_id}/documents")
        assert status == 200, docs
        assert not [d for d in docs if d["status"] == "failed"], docs
        if len(docs) == count and all(d["status"] == "ready" for d in docs):
            return
        time.sleep(0.5)
    raise AssertionError(f"documents not ingested in time: {docs}")


def test_a_pdf_citation_opens_the_original_at_its_page(
    owner_page: Page, server: Server, llm: ScriptServer
) -> None:
    page = owner_page
    status, base = server.api("POST", "/knowledge-bases", {"name": "pumps"})
    assert status == 201, base
    manual = make_pdf(["Pump manual: installation on a flat floor.",
                       "Maintenance: replace the impeller seal every 2000 hours."])  # fmt: skip
    upload(server, base["id"], "pump-manual.pdf", manual, "application/pdf")
    # HTML posing as a PDF: typed by its bytes, it never opens inline nor renders as a page
    evil = (b"<html><body><p>Impeller seal notes</p><img src=x onerror='window.__pwned=1'>"
            b"<script>window.__pwned=2</script></body></html>")  # fmt: skip
    upload(server, base["id"], "seal-notes.pdf", evil, "application/pdf")
    wait_ready(server, base["id"], 2)
    llm.plan(
        Stream([tool_call("knowledge_search", {"query": "impeller seal maintenance"}, id="p1")]),
        Stream(["Every 2000 hours [1]."]),
    )
    page.goto("/chat")
    page.get_by_label("Title").fill("Pumps")
    page.get_by_role("group", name="Knowledge bases").get_by_label(re.compile("pumps")).check()
    page.get_by_role("button", name="Start chat").click()
    page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    page.get_by_role("textbox", name="Message").fill("When is the seal replaced?")
    page.get_by_role("textbox", name="Message").press("Enter")
    answer = page.get_by_test_id("message-assistant")
    expect(answer.locator(".msg-text")).to_have_text("Every 2000 hours [1].", timeout=180_000)
    # each cited chunk is one link: the seal's is on page 2
    link = answer.get_by_test_id("citation").get_by_title("Open pump-manual.pdf at page 2")
    expect(link).to_have_attribute("href", re.compile(r"/original\?inline=true#page=2$"))
    with page.context.expect_page() as opened:
        link.click()
    viewer = opened.value
    viewer.wait_for_load_state()
    assert viewer.url.endswith("#page=2"), viewer.url
    assert viewer.evaluate("document.contentType") == "application/pdf"
    shot(viewer, "citation-pdf-page")
    viewer.close()

    # the HTML one: its citation (no page) opens the text view, where markup stays text
    for html_link in (
        answer.get_by_test_id("citation").get_by_role("link", name="seal-notes.pdf").all()
    ):
        expect(html_link).not_to_have_attribute("href", re.compile("inline"))
    status, docs = server.api("GET", f"/knowledge-bases/{base['id']}/documents")
    notes = next(d for d in docs if d["name"] == "seal-notes.pdf")
    assert notes["mime_type"] == "text/html"
    page.goto(f"/knowledge/{base['id']}/documents/{notes['id']}")
    expect(page.get_by_role("article")).to_contain_text("Impeller seal notes")
    response = page.goto(
        f"/knowledge-bases/{base['id']}/documents/{notes['id']}/original?inline=true"
    )
    assert response is not None
    assert response.status == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert page.evaluate("document.contentType") != "text/html"
    assert page.evaluate("window.__pwned") is None


def test_html_in_a_model_answer_is_text_never_markup(
    owner_page: Page, server: Server, llm: ScriptServer
) -> None:
    page = owner_page
    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    status, chat = server.api(
        "POST", "/chats",
        {
            "title": '<b onmouseover="window.__pwned=3">title</b>',
            "agent": {
                "stream": True,
                "tools": [{"kind": "node", "node_type": "logic.noop", "name": "check"}],
            },
        },
    )  # fmt: skip
    assert status == 201, chat
    llm.plan(
        Stream([tool_call("check", {"html": hostile}, id="x1")]),
        Stream(["Look: ", hostile]),
    )
    page.goto(f"/chat/{chat['id']}")
    page.get_by_role("textbox", name="Message").fill(hostile)
    page.get_by_role("button", name="Send").click()

    answer = page.get_by_test_id("message-assistant")
    expect(answer.locator(".msg-text")).to_have_text(f"Look: {hostile}")
    expect(page.get_by_test_id("message-user")).to_contain_text(hostile)
    # the tool step shows the arguments as text
    step = answer.get_by_test_id("tool-step")
    step.locator("summary").click()
    expect(step.get_by_label("Arguments")).to_contain_text("<img src=x")
    expect(page.get_by_role("navigation", name="Chat threads")).to_contain_text("<b onmouseover")
    assert page.locator(".chat-main img, .chat-main script, .chat-threads b").count() == 0
    page.get_by_role("navigation", name="Chat threads").hover()
    assert page.evaluate("window.__pwned") is None
    shot(page, "chat-hostile")


def test_memories_are_listed_and_forgotten(
    owner_page: Page, server: Server, llm: ScriptServer
) -> None:
    page = owner_page
    status, chat = server.api(
        "POST", "/chats", {"agent_id": "concierge", "agent": {"memory": {"enabled": True}}}
    )
    assert status == 201, chat
    llm.plan(
        Reply(tool_calls=[tool_call("remember", {"text": "Prefers answers by email"})]),
        Reply("Noted."),
    )
    events = sse(server, f"/chats/{chat['id']}/messages", {"content": "I prefer email."})
    assert events[-1][0] == "final", events

    page.goto("/chat/memories")
    table = page.get_by_role("table", name="Memories")
    row = table.get_by_role("row").filter(has_text="Prefers answers by email")
    expect(row).to_contain_text("concierge")
    shot(page, "chat-memories")
    row.get_by_role("button", name=re.compile("^Forget")).click()
    expect(page.get_by_role("status")).to_contain_text("Forgot")
    expect(table).not_to_contain_text("Prefers answers by email")
    status, memories = server.api("GET", "/memories?agent_id=concierge")
    assert status == 200
    assert memories["items"] == []


def test_a_failed_answer_says_why_and_the_chat_goes_on(
    owner_page: Page, server: Server, llm: ScriptServer
) -> None:
    page = owner_page
    status, chat = server.api("POST", "/chats", {"title": "flaky", "agent": {"stream": True}})
    assert status == 201, chat
    llm.plan(Fail(400, "the provider refused this request"))
    page.goto(f"/chat/{chat['id']}")
    box = page.get_by_role("textbox", name="Message")
    box.fill("first try")
    box.press("Enter")
    expect(page.get_by_role("list", name="Messages").get_by_role("alert")).to_contain_text(
        "refused"
    )
    expect(box).to_be_enabled()

    llm.plan(Stream(["Second ", "time lucky."]))
    box.fill("again")
    box.press("Enter")
    expect(page.get_by_test_id("message-assistant").locator(".msg-text")).to_have_text(
        "Second time lucky."
    )
    expect(page.get_by_role("list", name="Messages").get_by_role("alert")).to_have_count(0)


def test_chat_with_a_published_chat_workflow(
    owner_page: Page, server: Server, llm: ScriptServer
) -> None:
    """The turn runs on a worker process: the scripted model answers there too."""
    page = owner_page
    definition = {
        "name": "Support desk",
        "nodes": [
            {"id": "chat", "type": "trigger.chat"},
            {"id": "agent", "type": "ai.agent", "params": {
                "model": "scripted/web", "prompt": "{{ trigger.message }}",
                "history": "{{ trigger.history }}", "stream": True}},
        ],
        "edges": [{"source": "chat", "target": "agent"}],
    }  # fmt: skip
    status, made = server.api("POST", "/workflows", definition)
    assert status == 201, made
    workflow_id = made["workflow"]["id"]
    status, published = server.api("POST", f"/workflows/{workflow_id}/versions/1/publish")
    assert status == 200, published
    llm.plan(Stream(["Hello from ", "the desk."]))

    page.goto("/chat")
    page.get_by_label("a published chat workflow").check()
    expect(page.get_by_label("Workflow", exact=True)).to_have_value(workflow_id)
    shot(page, "chat-new")
    page.get_by_role("button", name="Start chat").click()
    page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("chat-target")).to_contain_text("workflow")
    box = page.get_by_role("textbox", name="Message")
    box.fill("hi desk")
    box.press("Enter")
    expect(page.get_by_test_id("message-assistant").locator(".msg-text")).to_have_text(
        "Hello from the desk.", timeout=60_000
    )
    assert llm.requests[-1]["messages"][-1]["content"] == "hi desk"
