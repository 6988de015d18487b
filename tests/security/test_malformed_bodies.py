"""Finding 11 and an "also": malformed bodies are the client's error, and secret-looking
webhook headers stay out of items.

The attack: invalid UTF-8 in a JSON body and 100k nested ``[`` answered 500. Now both answer
a 4xx problem+json. And custom secret-looking headers (``api-key``, ``x-auth-token``) were kept
in webhook items that viewers read: they are left out like ``Authorization``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.settings import load_settings
from reporunner.platform.webhooks.body import trigger_item


async def _key(database_url: str) -> str:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            slug = f"sec-{uuid.uuid4().hex[:10]}"
            _ws, _user, key = await create_workspace_with_owner(
                session, slug=slug, email=f"{slug}@example.test"
            )
        return key.plaintext
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "body",
    [b'{"name": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000, b'{"name": ' * 50_000],
    ids=["invalid-utf8", "deep-nesting", "deep-unclosed"],
)
async def test_malformed_json_bodies_answer_4xx_problems(services: Any, body: bytes) -> None:
    settings = load_settings(database_url=services.database_url, redis_url=services.redis_url)
    headers = {
        "Authorization": f"Bearer {await _key(services.database_url)}",
        "Content-Type": "application/json",
    }
    async with AsyncTestClient(create_app(settings)) as client:
        for path in ("/knowledge-bases", "/credentials", "/chats"):
            answer = await client.post(path, content=body, headers=headers)
            assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert "Traceback" not in answer.text


def test_secret_looking_webhook_headers_stay_out_of_items() -> None:
    item = trigger_item(
        method="POST",
        path="/hook",
        headers={
            "Content-Type": "application/json",
            "api-key": "k1",
            "X-Auth-Token": "k2",
            "X-Hub-Signature-256": "sha256=k3",
            "X-Client-Secret": "k4",
            "User-Agent": "GitHub-Hookshot",
        },
        query={},
        body={},
    )
    assert item["headers"] == {"content-type": "application/json", "user-agent": "GitHub-Hookshot"}
