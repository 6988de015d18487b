"""PostgreSQL unreachable (issue fault 7): routes answer 503 service_unavailable with
Retry-After, not 500 internal_error."""

from __future__ import annotations

import socket

from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.settings import Settings


def _dead_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_routes_answer_503_while_postgres_is_unreachable(settings: Settings) -> None:
    down = f"postgresql+psycopg://nobody:nothing@127.0.0.1:{_dead_port()}/gone"
    app = create_app(settings.model_copy(update={"database_url": down}))
    async with AsyncTestClient(app) as client:
        response = await client.get(
            "/workflows", headers={"Authorization": "Bearer rr_0000_not-checked-yet"}
        )
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert "Traceback" not in response.text
