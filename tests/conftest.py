"""Session-wide real services for the test suite.

Postgres and Redis are real servers: the embedded ones (started once per test session in a
temporary data directory), or the servers named by ``DATABASE_URL`` / ``REDIS_URL`` when set.

Isolation: the schema is migrated once into a template database; ``services.database_url`` is a
clone of it shared by the session, and every test that writes creates its own workspace (every
row is tenant-scoped, so tests cannot see each other's rows). A test that needs an empty database
of its own (migrations, counts over whole tables) asks for ``fresh_database``, a new clone.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from reporunner.platform.db.migrate import upgrade
from reporunner.platform.services.postgres import EmbeddedPostgres
from reporunner.platform.services.redis import EmbeddedRedis

TEMPLATE_DB = "rr_template"


def pytest_configure(config: pytest.Config) -> None:
    # pytest prunes old /tmp/pytest-of-<user>/pytest-N folders at start; a second test session
    # running at the same time would delete the live data directory of our embedded Postgres.
    # Each session gets a base folder of its own instead (unless --basetemp is given).
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="rr-pytest-")
    # Every in-process test client calls from the one address "testclient", so the per-address
    # anonymous limit would couple unrelated tests; tests/security/test_anonymous_floods.py
    # sets it explicitly and checks it.
    os.environ.setdefault("REPORUNNER_ANONYMOUS_RATE_LIMIT_PER_MINUTE", "0")


def pytest_unconfigure(config: pytest.Config) -> None:
    base = str(config.option.basetemp or "")
    if Path(base).name.startswith("rr-pytest-"):
        shutil.rmtree(base, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Services:
    """Connection details of the real services the tests use."""

    database_url: str
    """SQLAlchemy URL (``postgresql+psycopg://``) of the session's migrated database."""
    pg_dsn: str
    """libpq URI (``postgresql://``) of the same database, for psycopg and LangGraph."""
    redis_url: str
    admin_dsn: str
    """libpq conninfo of the maintenance database as the superuser (CREATE/DROP DATABASE)."""


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _clone(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')


def _no_fsync(admin_dsn: str) -> None:
    """The session's throw-away server skips flushing to disk: a test kills workers and Redis,
    never the operating system, so nothing a test checks depends on fsync, and on a busy
    shared disk each commit's flush (and CREATE DATABASE's) would cost the suite minutes."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    data_dir: Path = tmp_path_factory.mktemp("rr-services")
    pg: EmbeddedPostgres | None = None
    rd: EmbeddedRedis | None = None
    base_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    try:
        if base_url:
            base_url = base_url.replace("postgresql://", "postgresql+psycopg://", 1)
            admin_dsn = _libpq(base_url)
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        else:
            # the app's role (not a superuser) owns the template and migrates it, as in
            # production; admin_dsn is the superuser, for CREATE/DROP DATABASE. The template
            # grants the app role the public schema, so a clone made by the superuser (owned
            # by it) still lets the app create its tables.
            pg = EmbeddedPostgres(data_dir, database=TEMPLATE_DB)
            base_url = pg.start()
            admin_dsn = pg.admin_dsn()
            _no_fsync(admin_dsn)
        if not redis_url:
            rd = EmbeddedRedis(data_dir)
            redis_url = rd.start()
        upgrade(_with_db(base_url, TEMPLATE_DB))
        session_db = f"rr_test_{os.getpid()}"
        _clone(admin_dsn, session_db)
        url = _with_db(base_url, session_db)
        yield Services(
            database_url=url, pg_dsn=_libpq(url), redis_url=redis_url, admin_dsn=admin_dsn
        )
    finally:
        if rd is not None:
            rd.stop()
        if pg is not None:
            pg.stop()


@pytest.fixture
def fresh_database(services: Services) -> Iterator[Services]:
    """A new migrated database for one test, dropped afterwards."""
    name = f"rr_fresh_{uuid.uuid4().hex[:12]}"
    _clone(services.admin_dsn, name)
    url = _with_db(services.database_url, name)
    yield replace(services, database_url=url, pg_dsn=_libpq(url))
    with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
async def _pending_at_the_end() -> AsyncIterator[None]:
    """Name the tasks still pending on the session's event loop when the suite ends: a test
    that leaves one behind (a worker loop, a listener) leaves its Redis connections to the
    garbage collector, which warns about them in whichever test happens to be last."""
    yield
    me = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for task in left:
        print(f"pending at the end of the session: {task!r}", file=sys.__stderr__)
