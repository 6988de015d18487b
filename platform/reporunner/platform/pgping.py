"""When a pooled PostgreSQL connection needs a ping before use, and when it does not.

A ping per checkout (SQLAlchemy's ``pool_pre_ping``, psycopg_pool's ``check_connection``) costs
a round trip every time a connection is handed out: about five per webhook execution. Both pools
(``db.session`` and ``engine.checkpoint``) ask :func:`needs_ping` instead, which says yes only
when the connection may be dead:

* its socket has something to read while no query runs: a server that shut down or restarted
  (``pg_ctl restart``, a crash, a lost network) sends its goodbye or closes the socket, and the
  client sees it without a round trip;
* it idled for more than :data:`PRE_PING_IDLE_SECONDS` (or its idle time is unknown): cheap
  insurance against a silent loss (a dropped NAT entry) that shows no sign on the socket.
"""

from __future__ import annotations

import select
import time
from typing import Any

__all__ = ["PRE_PING_IDLE_SECONDS", "needs_ping"]

PRE_PING_IDLE_SECONDS = 1.0
"""A connection idle for longer than this is pinged before use, whatever its socket says."""


def needs_ping(pg_connection: Any, idle_since: float | None) -> bool:
    """Whether to ping ``pg_connection`` (a psycopg connection) before handing it out.

    Args:
        pg_connection: The psycopg (3) connection, idle in its pool.
        idle_since: ``time.monotonic()`` when it went back to the pool (None: unknown).
    """
    if idle_since is None or time.monotonic() - idle_since > PRE_PING_IDLE_SECONDS:
        return True
    try:
        fd = pg_connection.pgconn.socket
    except Exception:  # closed or broken: the ping fails and the pool replaces it
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))
