"""``/workspaces``: create, list, switch with ``X-Workspace``, rename, delete; and who may not."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from identity_testkit import fill_workspace
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text

from reporunner.platform.api.app import create_app
from reporunner.platform.db.models import AuditLog, Membership, Workspace
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.executions.events import stream_key
from reporunner.platform.identity import tenant_tables
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))

from signin_testkit import browser, make_member, sign_in


def _slug() -> str:
    return f"made-{uuid.uuid4().hex[:10]}"


async def _counts(database_url: str, workspace_id: uuid.UUID) -> dict[str, int]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            counts = {}
            for table in tenant_tables():
                counts[table.name] = int(
                    await session.scalar(
                        select(func.count())
                        .select_from(table)
                        .where(table.c.workspace_id == workspace_id)
                    )
                    or 0
                )
            counts["workspaces"] = int(
                await session.scalar(
                    select(func.count()).select_from(Workspace).where(Workspace.id == workspace_id)
                )
                or 0
            )
            return counts
    finally:
        await engine.dispose()


async def _audit(database_url: str, workspace_id: uuid.UUID) -> list[AuditLog]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            rows = await session.scalars(
                select(AuditLog)
                .where(AuditLog.workspace_id == workspace_id)
                .order_by(AuditLog.created_at)
            )
            return list(rows)
    finally:
        await engine.dispose()


async def _add_member(database_url: str, workspace_id: uuid.UUID, user_id: uuid.UUID, role: str):
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            session.add(Membership(workspace_id=workspace_id, user_id=user_id, role=role))
    finally:
        await engine.dispose()


async def test_two_users_create_workspaces_and_a_member_of_both_sees_each_role(
    settings, services
) -> None:
    alice = await make_member(services.database_url, role="owner")
    bob = await make_member(services.database_url, role="owner")
    a_slug, b_slug = _slug(), _slug()
    async with AsyncTestClient(create_app(settings)) as client:
        made_a = await client.post(
            "/workspaces", json={"slug": a_slug, "name": "Alice's"}, headers=alice.headers
        )
        made_b = await client.post("/workspaces", json={"slug": b_slug}, headers=bob.headers)
        assert made_a.status_code == 201, made_a.text
        assert made_b.status_code == 201, made_b.text
        ws_a, ws_b = made_a.json()["workspace"], made_b.json()["workspace"]
        assert (ws_a["role"], ws_a["name"], ws_a["member_count"]) == ("owner", "Alice's", 1)
        assert ws_b["name"] == b_slug
        # the returned key acts in the new workspace
        new_key = {"Authorization": f"Bearer {made_a.json()['key']}"}
        me = await client.get("/workspace", headers=new_key)
        assert (me.json()["slug"], me.json()["role"]) == (a_slug, "owner")
        # bob becomes a viewer of alice's new workspace: he sees both, each with its role
        await _add_member(services.database_url, uuid.UUID(ws_a["id"]), bob.user_id, "viewer")
        listed = await client.get("/workspaces", headers=bob.headers)
        assert listed.status_code == 200
        roles = {w["slug"]: w["role"] for w in listed.json()}
        assert roles == {bob.slug: "owner", b_slug: "owner", a_slug: "viewer"}
        alice_sees = {
            w["slug"] for w in (await client.get("/workspaces", headers=alice.headers)).json()
        }
        assert alice_sees == {alice.slug, a_slug}
        # a duplicate slug is a conflict; a bad slug names the field
        dup = await client.post("/workspaces", json={"slug": a_slug}, headers=bob.headers)
        assert dup.status_code == 409
        bad = await client.post("/workspaces", json={"slug": "Not A Slug"}, headers=bob.headers)
        assert bad.status_code in (400, 422)
        assert "slug" in bad.text
    created = [e for e in await _audit(services.database_url, uuid.UUID(ws_a["id"]))]
    assert [e.action for e in created] == ["workspace.created"]
    assert created[0].actor_user_id == alice.user_id
    assert created[0].data["ip"]
    assert created[0].data["slug"] == a_slug


async def test_a_browser_session_switches_with_the_header_and_gets_that_role(
    settings, services
) -> None:
    user = await make_member(services.database_url, role="owner")
    other = await make_member(services.database_url, role="owner")
    await _add_member(services.database_url, other.workspace_id, user.user_id, "viewer")
    async with browser(settings) as client:
        me = await sign_in(client, user.email)
        csrf = {"X-CSRF-Token": me["csrf_token"]}
        home = await client.get("/workspace")
        assert (home.json()["slug"], home.json()["role"]) == (user.slug, "owner")
        for wanted in (str(other.workspace_id), other.slug):
            there = await client.get("/workspace", headers={"X-Workspace": wanted})
            assert there.status_code == 200, there.text
            assert (there.json()["slug"], there.json()["role"]) == (other.slug, "viewer")
        # a viewer there cannot rename it, though owner at home
        rename = await client.patch(
            f"/workspaces/{other.workspace_id}", json={"name": "mine now"},
            headers={**csrf, "X-Workspace": other.slug},
        )  # fmt: skip
        assert rename.status_code == 403
        # the path id must be the workspace the request acts in
        sideways = await client.patch(
            f"/workspaces/{other.workspace_id}", json={"name": "mine now"}, headers=csrf
        )
        assert sideways.status_code == 404
        # a workspace the user is not in: the same 404 whether it exists or not
        stranger = await make_member(services.database_url, role="owner")
        answers = []
        for wanted in (stranger.slug, str(stranger.workspace_id), "no-such-ws", str(uuid.uuid4())):
            r = await client.get("/workspace", headers={"X-Workspace": wanted})
            assert r.status_code == 404, r.text
            assert stranger.slug not in r.text
            answers.append(r.json()["detail"])
        assert len(set(answers)) == 1
        # own home rename works, audited
        ok = await client.patch(
            f"/workspaces/{user.workspace_id}", json={"name": "Home"}, headers=csrf
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["name"] == "Home"
    entries = await _audit(services.database_url, user.workspace_id)
    renamed = [e for e in entries if e.action == "workspace.renamed"]
    assert len(renamed) == 1
    assert renamed[0].data["to"] == "Home"
    assert renamed[0].data["ip"]


async def test_the_web_apps_choice_cookie_switches_a_session_and_sessions_stay_listed(
    settings, services
) -> None:
    """The switcher's ``rr_workspace`` cookie acts like ``X-Workspace`` for a browser session
    (links and event streams carry no header); a cookie naming no workspace of the user is
    ignored, never a way in; an API key ignores it; ``/auth/sessions`` lists the user's
    sessions whatever workspace the request acts in."""
    user = await make_member(services.database_url, role="viewer")
    other = await make_member(services.database_url, role="owner")
    stranger = await make_member(services.database_url, role="owner")
    await _add_member(services.database_url, other.workspace_id, user.user_id, "editor")
    async with browser(settings) as client:
        await sign_in(client, user.email)
        listed = (await client.get("/auth/sessions")).json()
        assert [s["current"] for s in listed] == [True]
        client.cookies.set("rr_workspace", str(other.workspace_id))
        there = await client.get("/workspace")
        assert (there.json()["slug"], there.json()["role"]) == (other.slug, "editor")
        me = (await client.get("/auth/me")).json()
        assert (me["workspace"]["id"], me["role"]) == (str(other.workspace_id), "editor")
        # the session acting there is still the user's own, listed and current
        after = (await client.get("/auth/sessions")).json()
        assert [s["id"] for s in after] == [s["id"] for s in listed]
        assert [s["current"] for s in after] == [True]
        # the header wins over the cookie
        home = await client.get("/workspace", headers={"X-Workspace": user.slug})
        assert (home.json()["slug"], home.json()["role"]) == (user.slug, "viewer")
        # a cookie naming someone else's workspace (or garbage) answers in the user's own
        for wanted in (str(stranger.workspace_id), stranger.slug, "x" * 500, "nope"):
            client.cookies.set("rr_workspace", wanted)
            r = await client.get("/workspace")
            assert r.status_code == 200, r.text
            assert r.json()["slug"] == user.slug
            assert stranger.slug not in r.text
    # an API key acts in its own workspace whatever cookie comes with it
    async with AsyncTestClient(create_app(settings)) as keyed:
        keyed.cookies.set("rr_workspace", str(stranger.workspace_id))
        own = await keyed.get("/workspace", headers=other.headers)
        assert own.json()["slug"] == other.slug


async def test_an_api_key_stays_in_its_own_workspace(settings, services) -> None:
    user = await make_member(services.database_url, role="owner")
    other = await make_member(services.database_url, role="owner")
    await _add_member(services.database_url, other.workspace_id, user.user_id, "owner")
    async with AsyncTestClient(create_app(settings)) as client:
        same = await client.get("/workspace", headers={**user.headers, "X-Workspace": user.slug})
        assert same.status_code == 200
        r = await client.get("/workspace", headers={**user.headers, "X-Workspace": other.slug})
        assert r.status_code == 404
        assert other.slug not in r.text
        assert "own workspace" in r.json()["detail"]


async def test_deleting_a_workspace_removes_its_rows_and_leaves_the_other_untouched(
    settings, services, tmp_path
) -> None:
    settings = settings.model_copy(update={"data_dir": tmp_path})
    owner = await make_member(services.database_url, role="owner")
    async with AsyncTestClient(create_app(settings)) as client:
        made = await client.post("/workspaces", json={"slug": _slug()}, headers=owner.headers)
        assert made.status_code == 201
        doomed = made.json()["workspace"]
        doomed_id = uuid.UUID(doomed["id"])
        doomed_key = {"Authorization": f"Bearer {made.json()['key']}"}
        await fill_workspace(services.database_url, doomed_id, owner.user_id)
        await fill_workspace(services.database_url, owner.workspace_id, owner.user_id)
        originals = {
            w: tmp_path / "knowledge" / str(w) / str(uuid.uuid4()) / ("0" * 64) / "a.txt"
            for w in (doomed_id, owner.workspace_id)
        }
        for path in originals.values():
            path.parent.mkdir(parents=True)
            path.write_text("original")
        kept_before = await _counts(services.database_url, owner.workspace_id)
        doomed_before = await _counts(services.database_url, doomed_id)
        assert doomed_before["executions"] == 1
        assert doomed_before["memories"] == 1
        assert doomed_before["credentials"] == 1
        assert doomed_before["documents"] == 1
        assert doomed_before["original_chunks"] == 1
        wrong = await client.request(
            "DELETE", f"/workspaces/{doomed_id}", json={"confirm": owner.slug}, headers=doomed_key
        )
        assert wrong.status_code == 422, wrong.text
        assert "/confirm" in wrong.text
        gone = await client.request(
            "DELETE", f"/workspaces/{doomed_id}", json={"confirm": doomed["slug"]},
            headers=doomed_key,
        )  # fmt: skip
        assert gone.status_code == 200, gone.text
        assert gone.json()["executions"] == 1
        # its keys went with it
        after_key = await client.get("/workspace", headers=doomed_key)
        assert after_key.status_code == 401
        listed = await client.get("/workspaces", headers=owner.headers)
        assert [w["slug"] for w in listed.json()] == [owner.slug]
    doomed_after = await _counts(services.database_url, doomed_id)
    assert {k: v for k, v in doomed_after.items() if k != "audit_log"} == dict.fromkeys(
        (k for k in doomed_after if k != "audit_log"), 0
    )
    assert await _counts(services.database_url, owner.workspace_id) == kept_before
    assert not originals[doomed_id].exists()
    assert originals[owner.workspace_id].read_text() == "original"
    entries = await _audit(services.database_url, doomed_id)
    assert entries[-1].action == "workspace.deleted"
    assert entries[-1].actor_user_id == owner.user_id
    assert entries[-1].data["ip"]


async def test_only_an_owner_deletes_and_never_their_last_workspace(settings, services) -> None:
    owner = await make_member(services.database_url, role="owner")
    admin = await make_member(services.database_url, role="admin", workspace_id=owner.workspace_id)
    viewer = await make_member(
        services.database_url, role="viewer", workspace_id=owner.workspace_id
    )
    url = f"/workspaces/{owner.workspace_id}"
    body = {"confirm": owner.slug}
    async with AsyncTestClient(create_app(settings)) as client:
        for member in (viewer, admin):
            r = await client.request("DELETE", url, json=body, headers=member.headers)
            assert r.status_code == 403, (member.role, r.text)
        r = await client.patch(url, json={"name": "x"}, headers=viewer.headers)
        assert r.status_code == 403
        r = await client.patch(url, json={"name": "by admin"}, headers=admin.headers)
        assert r.status_code == 200
        last = await client.request("DELETE", url, json=body, headers=owner.headers)
        assert last.status_code == 409, last.text
        assert "only workspace" in last.json()["detail"]
        missing = await client.request("DELETE", url, json={}, headers=owner.headers)
        assert missing.status_code in (400, 422)
        assert "confirm" in missing.text
    assert (await _counts(services.database_url, owner.workspace_id))["workspaces"] == 1


async def test_creation_can_be_kept_for_instance_admins(settings, fresh_database) -> None:
    url = fresh_database.database_url
    restricted = settings.model_copy(update={"workspace_creation": "admins", "database_url": url})
    founder = await make_member(url, role="owner")  # the oldest workspace: its owners rule
    co_owner = await make_member(url, role="owner", workspace_id=founder.workspace_id)
    founder_admin = await make_member(url, role="admin", workspace_id=founder.workspace_id)
    someone = await make_member(url, role="owner")
    async with AsyncTestClient(create_app(restricted)) as client:
        for refused in (someone, founder_admin):
            r = await client.post("/workspaces", json={"slug": _slug()}, headers=refused.headers)
            assert r.status_code == 403, r.text
            assert "REPORUNNER_WORKSPACE_CREATION" in r.text
        for allowed in (founder, co_owner):
            ok = await client.post("/workspaces", json={"slug": _slug()}, headers=allowed.headers)
            assert ok.status_code == 201, ok.text
    async with AsyncTestClient(create_app(settings.model_copy(update={"database_url": url}))) as c:
        anyone = await c.post("/workspaces", json={"slug": _slug()}, headers=someone.headers)
        assert anyone.status_code == 201, anyone.text


async def test_deleting_the_workspace_a_browser_signed_in_to_keeps_it_signed_in(
    settings, services
) -> None:
    user = await make_member(services.database_url, role="owner")
    async with browser(settings) as client:
        me = await sign_in(client, user.email)
        csrf = {"X-CSRF-Token": me["csrf_token"]}
        made = await client.post(
            "/workspaces", json={"slug": _slug(), "issue_key": False}, headers=csrf
        )
        assert made.status_code == 201, made.text
        assert made.json()["key"] is None
        new = made.json()["workspace"]
        no_csrf = await client.post("/workspaces", json={"slug": _slug()})
        assert no_csrf.status_code == 403
        too_long = await client.get("/workspace", headers={"X-Workspace": "x" * 500})
        assert too_long.status_code == 404
        gone = await client.request(
            "DELETE", f"/workspaces/{user.workspace_id}", json={"confirm": user.slug},
            headers=csrf,
        )  # fmt: skip
        assert gone.status_code == 200, gone.text
        now = await client.get("/workspace")
        assert now.status_code == 200, now.text
        assert (now.json()["slug"], now.json()["role"]) == (new["slug"], "owner")
        back = await client.get("/workspace", headers={"X-Workspace": user.slug})
        assert back.status_code == 404


PAUSE = {
    "name": "pause",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {"id": "pause", "type": "logic.wait", "params": {"amount": 60}},
        {
            "id": "after",
            "type": "data.set",
            "params": {"fields": [{"name": "late", "value": True, "type": "boolean"}]},
        },
    ],
    "edges": [{"source": "start", "target": "pause"}, {"source": "pause", "target": "after"}],
}
APPROVE = {
    "name": "approve",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {"id": "ask", "type": "human.approval", "params": {"message": "ok?"}},
    ],
    "edges": [{"source": "start", "target": "ask"}],
}


async def _events(resources: Resources, execution_id: str) -> list[tuple[str, dict]]:
    raw = await resources.redis.xrange(stream_key(execution_id))
    out = []
    for _entry, fields in raw:
        body = json.loads(fields[b"e"])
        out.append((body["event"], body["data"]))
    return out


async def _checkpoint_threads(database_url: str, ids: list[str]) -> int:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return int(
                await conn.scalar(
                    text("SELECT count(*) FROM checkpoints WHERE thread_id = ANY(:ids)"),
                    {"ids": ids},
                )
                or 0
            )
    finally:
        await engine.dispose()


async def _worker_until(settings: Settings, stop: threading.Event) -> None:
    resources = await open_resources(settings)
    task = asyncio.create_task(build_worker(resources, handle_signals=False).main())
    try:
        await asyncio.to_thread(stop.wait)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await resources.close()


@pytest.mark.timeout(180)
async def test_deleting_a_workspace_stops_its_runs_before_its_rows_go(
    settings, services, tmp_path
) -> None:
    """A run in the middle of a 60 s wait, and one waiting for an approval: the delete
    answers only once the worker has stopped the first (its ``execution.finished``
    ``cancelled`` is already in its event stream) and cancelled the second; no row, node run or
    checkpoint of either is left, and the worker's last write found nothing to resurrect."""
    settings = settings.model_copy(
        update={
            "data_dir": tmp_path,
            "queue_name": f"test:ws-delete:{uuid.uuid4().hex}",
            "heartbeat_seconds": 0.5,
        }
    )
    owner = await make_member(services.database_url, role="owner")
    resources = await open_resources(settings)
    stop = threading.Event()
    # the worker on a loop of its own: the test client blocks this loop while a request runs
    thread = threading.Thread(target=asyncio.run, args=(_worker_until(settings, stop),))
    thread.start()
    try:
        async with AsyncTestClient(create_app(settings)) as client:
            made = await client.post("/workspaces", json={"slug": _slug()}, headers=owner.headers)
            assert made.status_code == 201, made.text
            doomed = made.json()["workspace"]
            key = {"Authorization": f"Bearer {made.json()['key']}"}
            runs = {}
            for definition in (PAUSE, APPROVE):
                wf = await client.post("/workflows", json=definition, headers=key)
                assert wf.status_code == 201, wf.text
                ran = await client.post(
                    f"/workflows/{wf.json()['workflow']['id']}/executions", json={}, headers=key
                )
                assert ran.status_code == 201, ran.text
                runs[definition["name"]] = ran.json()["id"]
            deadline = time.monotonic() + 90
            while True:  # the first in its wait, the second parked for its approval
                states = {}
                for name, ident in runs.items():
                    got = (await client.get(f"/executions/{ident}", headers=key)).json()
                    nodes = {r["node_id"]: r["status"] for r in got["node_runs"]}
                    states[name] = (got["status"], nodes)
                if states["pause"][1].get("pause") == "running" and states["approve"][0] == (
                    "waiting"
                ):
                    break
                assert time.monotonic() < deadline, states
                await asyncio.sleep(0.1)
            gone = await client.request(
                "DELETE", f"/workspaces/{doomed['id']}", json={"confirm": doomed["slug"]},
                headers=key,
            )  # fmt: skip
            assert gone.status_code == 200, gone.text
            assert gone.json()["executions"] == 2
            assert gone.json()["checkpoints"] >= 1
        # stopped before the rows went: the worker's own end of the run is already recorded
        paused = await _events(resources, runs["pause"])
        assert ("execution.finished", "cancelled") in [(e, d.get("status")) for e, d in paused], (
            paused
        )
        assert "after" not in {d.get("node_id") for _e, d in paused}
        approval = await _events(resources, runs["approve"])
        assert approval[-1][0] == "execution.finished"
        assert approval[-1][1]["status"] == "cancelled"
    finally:
        stop.set()
        thread.join(timeout=60)
        await resources.close()
    assert not thread.is_alive()
    after = await _counts(services.database_url, uuid.UUID(doomed["id"]))
    assert {k: v for k, v in after.items() if k != "audit_log"} == dict.fromkeys(
        (k for k in after if k != "audit_log"), 0
    )
    assert await _checkpoint_threads(services.database_url, list(runs.values())) == 0
