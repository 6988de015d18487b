"""``reporunner workspace create|list``: the operator's way to make and see workspaces."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import anyio.to_thread
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from reporunner.platform.api.app import create_app
from reporunner.platform.cli import main
from reporunner.platform.db.models import AuditLog, Workspace
from reporunner.platform.db.session import create_engine, session_factory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))

from signin_testkit import make_member


async def _main(argv: list[str]) -> int:
    """Run the command in a thread (it starts its own event loop)."""
    return await anyio.to_thread.run_sync(main, argv)


async def test_create_then_list_and_the_key_works(settings, services, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", services.database_url)
    existing = await make_member(services.database_url, role="owner")
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    code = await _main(["workspace", "create", slug, "--owner", existing.email.upper()])
    assert code == 0
    out = capsys.readouterr().out
    assert f"workspace '{slug}' created, owner {existing.email}" in out
    key = out.split("(shown once): ", 1)[1].strip()
    async with AsyncTestClient(create_app(settings)) as client:
        me = await client.get("/workspace", headers={"Authorization": f"Bearer {key}"})
        assert (me.json()["slug"], me.json()["role"]) == (slug, "owner")
        mine = await client.get("/workspaces", headers=existing.headers)
        assert {w["slug"]: w["role"] for w in mine.json()} == {
            existing.slug: "owner", slug: "owner",
        }  # fmt: skip
    assert await _main(["workspace", "list", "--user", existing.email]) == 0
    listed = capsys.readouterr().out
    assert slug in listed
    assert existing.slug in listed
    assert "owner" in listed
    assert await _main(["workspace", "list"]) == 0
    assert slug in capsys.readouterr().out
    engine = create_engine(services.database_url, pool_size=1)
    async with session_factory(engine)() as session:
        ws = await session.scalar(select(Workspace).where(Workspace.slug == slug))
        assert ws is not None
        entry = await session.scalar(select(AuditLog).where(AuditLog.workspace_id == ws.id))
    await engine.dispose()
    assert entry is not None
    assert (entry.action, entry.data["via"], entry.actor_user_id) == (
        "workspace.created",
        "cli",
        None,
    )


async def test_bad_input_is_one_line(services, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", services.database_url)
    existing = await make_member(services.database_url, role="owner")
    assert await _main(["workspace", "create", "Bad Slug", "--owner", "a@example.test"]) == 2
    assert "is no slug" in capsys.readouterr().err
    assert await _main(["workspace", "create", "fine-slug", "--owner", "nobody"]) == 2
    assert "no e-mail address" in capsys.readouterr().err
    assert await _main(["workspace", "create", existing.slug, "--owner", "a@example.test"]) == 2
    assert f"'{existing.slug}' is taken" in capsys.readouterr().err
    assert await _main(["workspace", "list", "--user", "ghost@example.test"]) == 2
    assert "no user with e-mail ghost@example.test" in capsys.readouterr().err
