"""A user's own account: change the password, list and revoke their browser sessions; nobody
reaches another user's sessions."""

from __future__ import annotations

from typing import Any

from signin_testkit import PASSWORD, browser, make_member, sign_in

NEW_PASSWORD = "a brand new passphrase"


def _csrf(me: dict[str, Any]) -> dict[str, str]:
    return {"X-CSRF-Token": me["csrf_token"]}


async def test_change_password_ends_other_sessions(settings, services) -> None:
    member = await make_member(services.database_url, role="viewer")
    async with browser(settings) as laptop, browser(settings) as phone:
        me = await sign_in(laptop, member.email)
        await sign_in(phone, member.email)
        listed = (await laptop.get("/auth/sessions")).json()
        assert len(listed) == 2
        assert [s["current"] for s in listed].count(True) == 1
        changed = await laptop.post(
            "/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=_csrf(me),
        )
        assert changed.status_code == 204, changed.text
        # this browser stays signed in, the other one is out
        assert (await laptop.get("/auth/me")).status_code == 200
        assert (await phone.get("/auth/me")).status_code == 401
        assert [s["current"] for s in (await laptop.get("/auth/sessions")).json()] == [True]
    async with browser(settings) as fresh:
        old = {"email": member.email, "password": PASSWORD}
        assert (await fresh.post("/auth/login", json=old)).status_code == 401
        await sign_in(fresh, member.email, NEW_PASSWORD)


async def test_wrong_current_password_is_refused_and_counted(settings, services) -> None:
    member = await make_member(services.database_url)
    limited = settings.model_copy(
        update={"signin_failures_per_account": 2, "signin_failures_per_ip": 0}
    )
    async with browser(limited) as client:
        me = await sign_in(client, member.email)
        wrong = {"current_password": "not it at all", "new_password": NEW_PASSWORD}
        first = await client.post("/auth/password", json=wrong, headers=_csrf(me))
        assert first.status_code == 422
        assert first.json()["problems"] == [
            {
                "pointer": "/current_password",
                "code": "wrong_password",
                "message": "the current password is wrong",
            }
        ]
        assert (await client.post("/auth/password", json=wrong, headers=_csrf(me))).status_code
        # two failures: even the right current password waits now (no guessing through a
        # stolen session)
        right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        throttled = await client.post("/auth/password", json=right, headers=_csrf(me))
        assert throttled.status_code == 429
        assert "this account" in throttled.json()["detail"]
    # the password did not change
    async with browser(settings) as other:
        await sign_in(other, member.email)


async def test_password_change_input_is_checked(settings, services) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        me = await sign_in(client, member.email)
        short = await client.post(
            "/auth/password",
            json={"current_password": PASSWORD, "new_password": "short"},
            headers=_csrf(me),
        )
        assert short.status_code == 400
        assert "new_password" in short.text
        extra = await client.post(
            "/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "role": "owner"},
            headers=_csrf(me),
        )
        assert extra.status_code == 400
        assert "role" in extra.text
        no_csrf = await client.post(
            "/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        )
        assert no_csrf.status_code == 403
        as_form = await client.post(
            "/auth/password",
            content=f'{{"current_password": "{PASSWORD}", "new_password": "{NEW_PASSWORD}"}}',
            headers={**_csrf(me), "Content-Type": "text/plain"},
        )
        assert as_form.status_code == 415
    async with browser(settings) as anonymous:
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        assert (await anonymous.post("/auth/password", json=body)).status_code == 401
        assert (await anonymous.get("/auth/sessions")).status_code == 401


async def test_a_user_cannot_see_or_revoke_another_users_session(settings, services) -> None:
    owner = await make_member(services.database_url)
    viewer = await make_member(
        services.database_url, role="viewer", workspace_id=owner.workspace_id
    )
    async with browser(settings) as owners, browser(settings) as viewers:
        await sign_in(owners, owner.email)
        viewer_me = await sign_in(viewers, viewer.email)
        owner_session = (await owners.get("/auth/sessions")).json()[0]["id"]
        viewer_sessions = (await viewers.get("/auth/sessions")).json()
        assert owner_session not in {s["id"] for s in viewer_sessions}
        # the viewer (and the owner's API key, of another user) cannot end the owner's session
        refused = await viewers.delete(f"/auth/sessions/{owner_session}", headers=_csrf(viewer_me))
        assert refused.status_code == 404
        assert refused.json()["detail"].startswith("session_id:")
        other_ws = await make_member(services.database_url)
        by_key = await owners.delete(f"/auth/sessions/{owner_session}", headers=other_ws.headers)
        assert by_key.status_code == 404
        assert (await owners.get("/auth/me")).status_code == 200
        bad = await viewers.delete("/auth/sessions/not-a-uuid", headers=_csrf(viewer_me))
        assert bad.status_code in (400, 404)


async def test_revoking_a_session_signs_that_browser_out(settings, services) -> None:
    member = await make_member(services.database_url, role="editor")
    async with browser(settings) as laptop, browser(settings) as phone:
        me = await sign_in(laptop, member.email)
        await sign_in(phone, member.email)
        other = next(s for s in (await laptop.get("/auth/sessions")).json() if not s["current"])
        gone = await laptop.delete(f"/auth/sessions/{other['id']}", headers=_csrf(me))
        assert gone.status_code == 204
        assert (await phone.get("/auth/me")).status_code == 401
        again = await laptop.delete(f"/auth/sessions/{other['id']}", headers=_csrf(me))
        assert again.status_code == 404
    # the user's API key lists the same user's sessions; none of them is the key's own
    async with browser(settings) as program:
        listed = await program.get("/auth/sessions", headers=member.headers)
        assert listed.status_code == 200
        assert [s["current"] for s in listed.json()] == [False]
