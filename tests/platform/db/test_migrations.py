"""The first migration upgrades and downgrades cleanly on the real Postgres."""

from __future__ import annotations

import psycopg
import pytest

from reporunner.platform.db.migrate import current_revision, downgrade, head, upgrade

CORE_TABLES = {
    "workspaces", "users", "memberships", "api_keys", "workflows", "workflow_versions",
    "executions", "node_runs", "credentials", "knowledge_bases", "documents", "chunks",
    "chat_threads", "chat_messages", "memories", "schedules", "audit_log",
}  # fmt: skip


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_creates_core_tables_and_vector(fresh_database) -> None:
    assert current_revision(fresh_database.database_url) == head()
    assert _tables(fresh_database.pg_dsn) >= CORE_TABLES
    with psycopg.connect(fresh_database.pg_dsn) as conn:
        ext = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        assert ext is not None
        assert ext[0].startswith("0.8")
        kinds = dict(
            conn.execute(
                "SELECT column_name, udt_name FROM information_schema.columns "
                "WHERE table_name = 'chunks' AND column_name IN ('embedding', 'tsv')"
            ).fetchall()
        )
    assert kinds == {"embedding": "vector", "tsv": "tsvector"}


def test_downgrade_to_base_then_upgrade_again(fresh_database) -> None:
    downgrade(fresh_database.database_url, "base")
    assert current_revision(fresh_database.database_url) is None
    assert not (CORE_TABLES & _tables(fresh_database.pg_dsn))
    upgrade(fresh_database.database_url)
    assert current_revision(fresh_database.database_url) == head()
    assert _tables(fresh_database.pg_dsn) >= CORE_TABLES


def test_workflow_versions_are_immutable(fresh_database) -> None:
    with psycopg.connect(fresh_database.pg_dsn) as conn:
        ws = "00000000-0000-0000-0000-000000000001"
        wf = conn.execute(
            "INSERT INTO workflows (workspace_id, name, description) VALUES (%s, 'w', '') "
            "RETURNING id",
            (ws,),
        ).fetchone()
        assert wf is not None
        conn.execute(
            "INSERT INTO workflow_versions (workspace_id, workflow_id, number, definition, "
            "content_hash, note) VALUES (%s, %s, 1, '{}', 'h', '')",
            (ws, wf[0]),
        )
        conn.commit()
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="immutable"):
            conn.execute("UPDATE workflow_versions SET definition = '{\"x\": 1}'")


def test_models_and_migrations_agree(fresh_database) -> None:
    """Autogenerate against a migrated database proposes nothing: the ORM models and the
    migrations describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    import reporunner.platform.db.models  # noqa: F401
    from reporunner.platform.db.base import Base

    engine = create_engine(fresh_database.database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
