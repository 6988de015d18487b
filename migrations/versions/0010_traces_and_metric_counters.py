"""Trace context on executions; cluster-wide metric counters kept by triggers.

* ``executions.traceparent``: the W3C trace context of the request that started the run, so
  the worker's spans join the request's trace (set only while tracing is on).
* ``metric_counters``: monotonic counters that ``/metrics`` reads instead of scanning
  ``executions`` and ``node_runs``. Row triggers add to them in the transaction that ends an
  execution (status, tokens, cost) or gives a node run its duration; each counter is spread
  over 16 rows (``pg_backend_pid() % 16``) so that concurrent writers rarely wait on one row.
  The upgrade seeds them with the figures of the rows already there (one scan, once).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENDED = "('succeeded', 'failed', 'cancelled')"

COUNT_EXECUTION = f"""
CREATE FUNCTION reporunner_count_execution() RETURNS trigger AS $$
BEGIN
    INSERT INTO metric_counters AS c (name, label, shard, value)
    SELECT k.name, k.label, pg_backend_pid() % 16, k.value
    FROM (VALUES
        ('executions_ended', NEW.status::text,
         CASE WHEN NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN {ENDED}
              THEN 1 ELSE 0 END::numeric),
        ('llm_tokens', 'in', (NEW.tokens_in - OLD.tokens_in)::numeric),
        ('llm_tokens', 'out', (NEW.tokens_out - OLD.tokens_out)::numeric),
        ('llm_cost_usd', '', (NEW.cost_usd - OLD.cost_usd)::numeric)
    ) AS k(name, label, value)
    WHERE k.value <> 0
    ON CONFLICT (name, label, shard) DO UPDATE SET value = c.value + EXCLUDED.value;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER executions_metric_counters
    AFTER UPDATE OF status, tokens_in, tokens_out, cost_usd ON executions
    FOR EACH ROW WHEN (
        (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN {ENDED})
        OR NEW.tokens_in IS DISTINCT FROM OLD.tokens_in
        OR NEW.tokens_out IS DISTINCT FROM OLD.tokens_out
        OR NEW.cost_usd IS DISTINCT FROM OLD.cost_usd
    )
    EXECUTE FUNCTION reporunner_count_execution();
"""

COUNT_NODE_RUN = """
CREATE FUNCTION reporunner_count_node_run() RETURNS trigger AS $$
BEGIN
    INSERT INTO metric_counters AS c (name, label, shard, value)
    VALUES ('node_runs', NEW.node_type, pg_backend_pid() % 16, 1),
           ('node_run_ms', NEW.node_type, pg_backend_pid() % 16, NEW.duration_ms::numeric)
    ON CONFLICT (name, label, shard) DO UPDATE SET value = c.value + EXCLUDED.value;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER node_runs_metric_counters_insert
    AFTER INSERT ON node_runs
    FOR EACH ROW WHEN (NEW.duration_ms IS NOT NULL)
    EXECUTE FUNCTION reporunner_count_node_run();
CREATE TRIGGER node_runs_metric_counters_update
    AFTER UPDATE OF duration_ms ON node_runs
    FOR EACH ROW WHEN (OLD.duration_ms IS NULL AND NEW.duration_ms IS NOT NULL)
    EXECUTE FUNCTION reporunner_count_node_run();
"""

SEED = f"""
INSERT INTO metric_counters (name, label, shard, value)
SELECT 'executions_ended', status, 0, count(*) FROM executions
    WHERE status IN {ENDED} GROUP BY status
UNION ALL SELECT 'llm_tokens', 'in', 0, coalesce(sum(tokens_in), 0) FROM executions
UNION ALL SELECT 'llm_tokens', 'out', 0, coalesce(sum(tokens_out), 0) FROM executions
UNION ALL SELECT 'llm_cost_usd', '', 0, coalesce(sum(cost_usd), 0) FROM executions
UNION ALL SELECT 'node_runs', node_type, 0, count(*) FROM node_runs
    WHERE duration_ms IS NOT NULL GROUP BY node_type
UNION ALL SELECT 'node_run_ms', node_type, 0, sum(duration_ms) FROM node_runs
    WHERE duration_ms IS NOT NULL GROUP BY node_type
"""


def upgrade() -> None:
    op.add_column("executions", sa.Column("traceparent", sa.String(length=64), nullable=True))
    op.create_table(
        "metric_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.PrimaryKeyConstraint("name", "label", "shard", name=op.f("pk_metric_counters")),
    )
    op.execute(SEED)
    op.execute(COUNT_EXECUTION)
    op.execute(COUNT_NODE_RUN)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS node_runs_metric_counters_update ON node_runs")
    op.execute("DROP TRIGGER IF EXISTS node_runs_metric_counters_insert ON node_runs")
    op.execute("DROP TRIGGER IF EXISTS executions_metric_counters ON executions")
    op.execute("DROP FUNCTION IF EXISTS reporunner_count_node_run()")
    op.execute("DROP FUNCTION IF EXISTS reporunner_count_execution()")
    op.drop_table("metric_counters")
    op.drop_column("executions", "traceparent")
