"""Cluster-wide counters for ``/metrics``, kept by database triggers (migration 0010).

A trigger adds to a counter in the same transaction that ends an execution or a node run, so
every API process reads the same figures with one small read, and no scrape scans
``executions`` or ``node_runs``. Each counter is split over :data:`COUNTER_SHARDS` rows (by the
writing connection) so that concurrent writers rarely wait on one row; a read sums the shards.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base

__all__ = ["COUNTER_SHARDS", "MetricCounter"]

COUNTER_SHARDS = 16
"""Rows per counter (``pg_backend_pid() % 16`` picks one)."""


class MetricCounter(Base):
    """One shard of a monotonic counter: ``executions_ended`` (label: status),
    ``llm_tokens`` (label: ``in``/``out``), ``llm_cost_usd``, ``node_runs`` and ``node_run_ms``
    (label: node type). Not tenant data: cluster figures, read only by ``/metrics``."""

    __tablename__ = "metric_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[Decimal] = mapped_column(Numeric(24, 6), default=Decimal(0))
