"""Embedded PostgreSQL and Redis for machines with neither (the default of `reporunner serve`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reporunner.platform.services.postgres import EmbeddedPostgres
from reporunner.platform.services.redis import EmbeddedRedis, redis_server_binary
from reporunner.platform.settings import Settings

__all__ = ["EmbeddedPostgres", "EmbeddedRedis", "embedded_services", "redis_server_binary"]


@contextmanager
def embedded_services(settings: Settings) -> Iterator[Settings]:
    """Start what ``settings`` leaves unset; yield settings with both URLs resolved.

    Servers are left running when other processes still use them (see ``_holders``).
    """
    pg: EmbeddedPostgres | None = None
    rd: EmbeddedRedis | None = None
    try:
        updates: dict[str, object] = {}
        if settings.database_url is None:
            pg = EmbeddedPostgres(settings.data_dir)
            updates["database_url"] = pg.start()
        if settings.redis_url is None:
            rd = EmbeddedRedis(settings.data_dir)
            updates["redis_url"] = rd.start()
        yield settings.model_copy(update=updates)
    finally:
        if rd is not None:
            rd.stop()
        if pg is not None:
            pg.stop()
