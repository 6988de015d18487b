"""Run Alembic migrations programmatically (``reporunner migrate``, ``serve``, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "downgrade", "head", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parents[4] / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head() -> str:
    """The newest revision of the migration scripts."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    rev = script.get_current_head()
    assert rev is not None, "migrations/ has no revision"
    return rev


def current_revision(database_url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
