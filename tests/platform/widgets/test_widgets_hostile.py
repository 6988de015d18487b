"""What a hostile page or visitor may try against ``/public/widgets``: a wrong origin, another
widget's id or token, forged and expired tokens, another visitor's history, and floods (the
limiter's clock is moved, never waited for)."""

from __future__ import annotations

import base64
import json
import time
import types
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sse_testkit import sse
from widget_testkit import (
    ECHO_CHAT,
    SHOP,
    new_widget,
    plain,
    published_workflow,
    visitor,
)
from worker_testkit import ThreadWorker

from reporunner.platform.api import limits
from reporunner.platform.api.app import create_app
from reporunner.platform.db.models import ChatThread, Execution
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.settings import Settings
from reporunner.platform.vault import keyring_from_settings
from reporunner.platform.widgets import sign_visitor
from reporunner.platform.widgets.visitors import VISITOR_TTL_SECONDS


@pytest.fixture
def tuned(settings: Settings) -> Settings:
    return settings.model_copy(update={"queue_name": f"test:widget:{uuid.uuid4().hex}"})


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """The rate limiter's clock, standing in the middle of a minute until a test moves it."""
    now = types.SimpleNamespace(value=(time.time() // 60) * 60 + 30)
    monkeypatch.setattr(limits, "time", types.SimpleNamespace(time=lambda: now.value))
    return now


async def count(settings: Settings, model: Any, **where: Any) -> int:
    engine = create_engine(str(settings.database_url))
    try:
        async with session_factory(engine)() as session:
            assert isinstance(session, AsyncSession)
            query = select(func.count()).select_from(model).filter_by(**where)
            return int(await session.scalar(query) or 0)
    finally:
        await engine.dispose()


def key(settings: Settings) -> bytes:
    return keyring_from_settings(settings).current.key


def payload(token: str) -> dict[str, Any]:
    body = token.split(".")[0]
    loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return loaded


def encode(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_a_page_on_an_origin_not_allowed_gets_nothing(settings, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(settings)) as client:
        workflow = await published_workflow(client, admin.headers, ECHO_CHAT)
        widget = await new_widget(client, admin.headers, workflow, greeting="secret greeting")
        pid = widget["public_id"]
        token = await visitor(client, pid)
        answers = []
        for origin in (
            "https://evil.example", "https://shop.example.evil", "http://shop.example",
            "https://shop.example:8443", "null", None,
        ):  # fmt: skip
            headers = {"Origin": origin} if origin else {}
            answers.append(await client.get(f"/public/widgets/{pid}/config", headers=headers))
            for path in ("visitors", "history", "messages"):
                body = json.dumps({"token": token, "content": "hi"})
                answers.append(
                    await client.post(
                        f"/public/widgets/{pid}/{path}", content=body, headers=headers
                    )
                )
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in answer.headers
        assert "secret greeting" not in answer.text
        assert "token" not in answer.json()
    # only the one visitor of the allowed origin exists; no message was stored
    assert await count(settings, ChatThread, workspace_id=admin.workspace_id) == 1
    assert await count(settings, Execution, workspace_id=admin.workspace_id) == 0


async def test_another_widgets_id_cannot_start_this_workflow(tuned, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(tuned)) as client:
        ours = await published_workflow(client, admin.headers, ECHO_CHAT)
        theirs = await published_workflow(
            client, admin.headers, {**ECHO_CHAT, "name": "other chat"}
        )
        widget = await new_widget(client, admin.headers, ours)
        other = await new_widget(client, admin.headers, theirs)
        ours_token = await visitor(client, widget["public_id"])
        other_token = await visitor(client, other["public_id"])
        url = f"/public/widgets/{other['public_id']}/messages"
        # our visitor's token at the other widget; a token for the other widget naming our
        # visitor's thread (signed with the real key); a body that asks for our workflow
        crossed = await client.post(url, **plain({"token": ours_token, "content": "hi"}))
        smuggled_token, _ = sign_visitor(
            key(tuned), uuid.UUID(other["id"]), uuid.UUID(payload(ours_token)["t"])
        )
        smuggled = await client.post(url, **plain({"token": smuggled_token, "content": "hi"}))
        asked = await client.post(
            url, **plain({"token": other_token, "content": "hi", "workflow_id": ours})
        )
        with ThreadWorker(tuned):
            answered = await client.post(url, **plain({"token": other_token, "content": "hi"}))
    assert crossed.status_code == 401
    assert crossed.json()["code"] == "visitor_token_invalid"
    assert smuggled.status_code == 401
    assert smuggled.json()["code"] == "visitor_token_invalid"
    assert asked.status_code == 400
    assert "workflow_id" in asked.json()["detail"]
    assert answered.status_code == 200, answered.text
    assert sse(answered.text)[-1][1]["message"]["content"] == "echo: hi"
    assert await count(tuned, Execution, workflow_id=uuid.UUID(ours)) == 0
    assert await count(tuned, Execution, workflow_id=uuid.UUID(theirs)) == 1


async def test_forged_and_expired_visitor_tokens_are_refused(settings, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(settings)) as client:
        workflow = await published_workflow(client, admin.headers, ECHO_CHAT)
        widget = await new_widget(client, admin.headers, workflow)
        pid, wid = widget["public_id"], uuid.UUID(widget["id"])
        genuine = await visitor(client, pid)
        claims = payload(genuine)
        signature = genuine.split(".")[1]
        expired, _ = sign_visitor(
            key(settings), wid, uuid.UUID(claims["t"]), now=time.time() - VISITOR_TTL_SECONDS - 1
        )
        other_key, _ = sign_visitor(b"k" * 32, wid, uuid.UUID(claims["t"]))
        forged = {
            "other thread": encode({**claims, "t": str(uuid.uuid4())}) + "." + signature,
            "longer life": encode({**claims, "exp": claims["exp"] + 10**6}) + "." + signature,
            "no signature": genuine.split(".")[0],
            "garbage": "not-a-token",
            "bad base64": "%%%.%%%",
            "expired": expired,
            "another key": other_key,
        }
        answers = {
            name: await client.post(f"/public/widgets/{pid}/history", **plain({"token": token}))
            for name, token in forged.items()
        }
        kept = await client.post(f"/public/widgets/{pid}/history", **plain({"token": genuine}))
        missing = await client.post(f"/public/widgets/{pid}/history", **plain({}))
        not_json = await client.post(
            f"/public/widgets/{pid}/history",
            content=b"{", headers={"Origin": SHOP, "Content-Type": "text/plain"},
        )  # fmt: skip
    for name, answer in answers.items():
        assert answer.status_code == 401, (name, answer.text)
        assert answer.json()["code"] == "visitor_token_invalid"
        assert answer.headers["access-control-allow-origin"] == SHOP  # the page may start over
    assert kept.status_code == 200
    assert kept.json() == {"items": []}
    assert missing.status_code == 400
    assert "token" in missing.json()["detail"]
    assert not_json.status_code == 400


async def test_a_visitor_never_sees_another_visitors_history(tuned, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(tuned)) as client:
        workflow = await published_workflow(client, admin.headers, ECHO_CHAT)
        widget = await new_widget(client, admin.headers, workflow)
        other = await new_widget(client, admin.headers, workflow)  # same workflow
        pid = widget["public_id"]
        first, second = await visitor(client, pid), await visitor(client, pid)
        with ThreadWorker(tuned):
            said = await client.post(
                f"/public/widgets/{pid}/messages",
                **plain({"token": first, "content": "my secret order 42"}),
            )
        mine = await client.post(f"/public/widgets/{pid}/history", **plain({"token": first}))
        theirs = await client.post(f"/public/widgets/{pid}/history", **plain({"token": second}))
        elsewhere = await client.post(
            f"/public/widgets/{other['public_id']}/history", **plain({"token": first})
        )
    assert said.status_code == 200, said.text
    assert [m["content"] for m in mine.json()["items"]] == [
        "my secret order 42", "echo: my secret order 42",
    ]  # fmt: skip
    assert theirs.status_code == 200
    assert theirs.json() == {"items": []}
    assert elsewhere.status_code == 401
    assert "secret order" not in theirs.text + elsewhere.text


async def test_floods_are_limited_per_visitor_and_per_address(
    settings, tenant_factory, clock
) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(settings)) as client:
        workflow = await published_workflow(client, admin.headers, ECHO_CHAT)
        widget = await new_widget(
            client, admin.headers, workflow, messages_per_minute=2, visitors_per_minute=3
        )
        pid = widget["public_id"]
        busy, calm = await visitor(client, pid), await visitor(client, pid)
        url = f"/public/widgets/{pid}/messages"
        # empty messages are refused (400) after they were counted: no worker is needed
        counted = [
            (await client.post(url, **plain({"token": busy, "content": ""}))).status_code
            for _ in range(2)
        ]
        limited = await client.post(url, **plain({"token": busy, "content": ""}))
        other_visitor = await client.post(url, **plain({"token": calm, "content": ""}))
        third = await client.post(f"/public/widgets/{pid}/visitors", headers={"Origin": SHOP})
        fourth = await client.post(f"/public/widgets/{pid}/visitors", headers={"Origin": SHOP})
        clock.value += 60  # the next window
        later = await client.post(url, **plain({"token": busy, "content": ""}))
        new_later = await client.post(f"/public/widgets/{pid}/visitors", headers={"Origin": SHOP})
    assert counted == [400, 400]
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert limited.headers["retry-after"] == "30"
    assert limited.headers["access-control-allow-origin"] == SHOP
    assert other_visitor.status_code == 400  # each visitor has their own budget
    assert (third.status_code, fourth.status_code) == (201, 429)
    assert later.status_code == 400
    assert new_later.status_code == 201


async def test_disabled_widgets_and_unpublished_workflows_answer_no_one(
    settings, tenant_factory
) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(settings)) as client:
        workflow = await published_workflow(client, admin.headers, ECHO_CHAT)
        widget = await new_widget(client, admin.headers, workflow)
        pid = widget["public_id"]
        token = await visitor(client, pid)
        # a new version saved as a draft does not unpublish; archiving the workflow does
        archived = await client.post(f"/workflows/{workflow}/archive", headers=admin.headers)
        stale = await client.post(
            f"/public/widgets/{pid}/messages", **plain({"token": token, "content": "hi"})
        )
        await client.patch(
            f"/widgets/{widget['id']}", json={"enabled": False}, headers=admin.headers
        )
        disabled = await client.get(f"/public/widgets/{pid}/config", headers={"Origin": SHOP})
        unknown = await client.get("/public/widgets/wg_nope/config", headers={"Origin": SHOP})
    assert archived.status_code == 200, archived.text
    assert stale.status_code == 409
    assert "publish" in stale.json()["detail"]
    assert disabled.status_code == 404
    assert unknown.status_code == 404
    assert await count(settings, Execution, workspace_id=admin.workspace_id) == 0


async def test_the_frame_page_is_framed_by_allowed_origins_only(settings, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(settings)) as client:
        workflow = await published_workflow(client, admin.headers, ECHO_CHAT)
        widget = await new_widget(
            client, admin.headers, workflow, allowed_origins=[SHOP, "http://localhost:3000"],
            name='<script>alert("x")</script>',
        )  # fmt: skip
        pid = widget["public_id"]
        framed = await client.get(
            f"/public/widgets/{pid}/frame", headers={"Sec-Fetch-Dest": "iframe"}
        )
        top_level = await client.get(
            f"/public/widgets/{pid}/frame", headers={"Sec-Fetch-Dest": "document"}
        )
        unknown = await client.get(
            "/public/widgets/wg_nope/frame", headers={"Sec-Fetch-Dest": "iframe"}
        )
        # the frame's own calls are same-origin: no Origin on a GET, no CORS headers needed
        own = await client.get(
            f"/public/widgets/{pid}/config", headers={"Sec-Fetch-Site": "same-origin"}
        )
        cross = await client.get(
            f"/public/widgets/{pid}/config", headers={"Sec-Fetch-Site": "same-site"}
        )
    assert framed.status_code == 200
    assert framed.headers["content-type"].startswith("text/html")
    policy = framed.headers["content-security-policy"]
    assert "frame-ancestors https://shop.example http://localhost:3000;" in policy
    assert "script-src 'self'" in policy
    assert f'data-chat="{pid}"' in framed.text
    assert "<script>alert" not in framed.text  # the name is escaped
    assert top_level.status_code == 403
    assert top_level.json()["code"] == "frame_only"
    assert unknown.status_code == 404
    assert own.status_code == 200
    assert "access-control-allow-origin" not in own.headers
    assert cross.status_code == 403
