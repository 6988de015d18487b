"""``reporunner setup-link``: a fresh set-up link for an owner (lost link, forgotten password)."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio.to_thread

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))

from signin_testkit import browser, make_member, sign_in

from reporunner.platform.cli import main


async def test_setup_link_resets_an_owner_password(settings, services, monkeypatch, capsys):
    owner = await make_member(services.database_url)
    await make_member(services.database_url, role="admin", workspace_id=owner.workspace_id)
    monkeypatch.setenv("DATABASE_URL", services.database_url)
    code = await _main(["setup-link", "--workspace", owner.slug, "--url", "https://rr.example/"])
    assert code == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("set up the owner's sign-in (one use, valid 24 h): https://rr.example/")
    token = line.split("token=", 1)[1]
    async with browser(settings) as client:
        info = await client.get(f"/auth/setup/{token}")
        assert info.json()["workspace"]["slug"] == owner.slug
        body = {"token": token, "email": owner.email, "password": "a brand new passphrase"}
        assert (await client.post("/auth/setup", json=body)).status_code == 200
    async with browser(settings) as client:
        me = await sign_in(client, owner.email, "a brand new passphrase")
        assert me["user"]["id"] == str(owner.user_id)
        assert me["role"] == "owner"


async def test_unknown_workspace_or_owner_is_one_line(services, monkeypatch, capsys) -> None:
    owner = await make_member(services.database_url)
    monkeypatch.setenv("DATABASE_URL", services.database_url)
    assert await _main(["setup-link", "--workspace", "no-such-ws"]) == 2
    assert "no workspace 'no-such-ws'" in capsys.readouterr().err
    code = await _main(["setup-link", "--workspace", owner.slug, "--email", "who@example.test"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"reporunner: workspace '{owner.slug}' has no owner with e-mail who@example.test"


async def _main(argv: list[str]) -> int:
    """Run the command in a thread (it starts its own event loop)."""
    return await anyio.to_thread.run_sync(main, argv)
