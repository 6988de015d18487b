"""``reporunner run FILE``: run a workflow file once and print each node's result as it ends.

The run uses the configured (or embedded) PostgreSQL for its checkpoints, so approval nodes and
long runs behave as on a worker; nothing else is stored (no workflow or execution rows), which
makes it the quick loop for writing a workflow: edit the file, run it, read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from reporunner.nodes.base import Item
from reporunner.nodes.codesandbox import configure as configure_code_sandbox
from reporunner.nodes.errors import ReporunnerError, ValidationFailed
from reporunner.nodes.registry import default_registry
from reporunner.platform.db.migrate import upgrade
from reporunner.platform.engine import (
    CompiledWorkflow,
    ExecutionResult,
    NullHooks,
    WorkflowDefinition,
    compile_workflow,
    parse_definition,
    postgres_checkpointer,
    raise_for_problems,
    run_execution,
    validate,
)
from reporunner.platform.services import embedded_services
from reporunner.platform.settings import Settings, load_settings
from reporunner.platform.worker.app import libpq_dsn

__all__ = ["PrintingHooks", "add_parser", "cmd_run"]

EXIT_CODES = {"succeeded": 0, "failed": 1, "cancelled": 1, "waiting": 3}
PREVIEW_CHARS = 2000


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run a workflow file (JSON or YAML) once and print the results")
    p.add_argument("file", type=Path, help="workflow definition file")
    p.add_argument("--input", default="{}", help="trigger item as a JSON object (default {})")
    p.set_defaults(handler=cmd_run)


def _preview(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    if len(text) > PREVIEW_CHARS:
        return text[:PREVIEW_CHARS] + f"... ({len(text)} characters)"
    return text


class PrintingHooks(NullHooks):
    """Engine hooks that print every node result as soon as the node ends."""

    def __init__(self, out: TextIO, node_types: Mapping[str, str]) -> None:
        self.out = out
        self.node_types = node_types

    def _say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    async def node_finished(
        self,
        node_id: str,
        *,
        run: int,
        outputs: Mapping[str, list[Item]],
        duration: float,
        attempt: int,
    ) -> None:
        counts = ", ".join(f"{port}: {len(items)}" for port, items in outputs.items()) or "none"
        kind = self.node_types.get(node_id, "?")
        self._say(f"ok   {node_id} ({kind}) {duration * 1000:.1f} ms, items {counts}")
        for port, items in outputs.items():
            self._say(f"     {port}: {_preview(items)}")

    async def node_failed(
        self,
        node_id: str,
        *,
        run: int,
        error: Mapping[str, Any],
        attempt: int,
        duration: float,
        final: bool,
    ) -> None:
        what = "FAIL" if final else "retry"
        self._say(f"{what} {node_id} (attempt {attempt}): {error.get('message')}")

    async def publish(self, event: str, data: Mapping[str, Any]) -> None:
        if event == "log":
            self._say(f"log  {data.get('node_id', '')}: {data.get('message', '')}")


def _input(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as err:
        raise ReporunnerError(
            f"--input is not valid JSON: {err}; pass an object like '{{}}'"
        ) from None
    if not isinstance(value, dict):
        raise ReporunnerError('--input must be a JSON object, e.g. \'{"email": "a@b.c"}\'')
    return value


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise ReporunnerError(f"cannot read {path}: {err.strerror}") from None


def cmd_run(args: argparse.Namespace) -> int:
    text = _read(args.file)
    trigger = _input(args.input)
    try:
        compiled = compile_workflow(_parse(text), default_registry())
    except ValidationFailed as err:
        print(f"reporunner: {args.file} is invalid:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem['pointer'] or '/'}: {problem['message']}", file=sys.stderr)
        return 2
    settings = load_settings()
    with embedded_services(settings) as resolved:
        assert resolved.database_url is not None
        if settings.migrate_on_start:
            upgrade(resolved.database_url)
        result = asyncio.run(_run(resolved, compiled, trigger))
    print(f"execution {result.status}", flush=True)
    if result.error is not None:
        print(f"error: {result.error.get('message')}", flush=True)
    if result.status == "waiting":
        print(f"waiting for input: {_preview(result.waiting_payload)}", flush=True)
    if result.status == "succeeded":
        print(f"result: {_preview(result.final_items)}", flush=True)
    return EXIT_CODES.get(result.status, 1)


def _parse(text: str) -> WorkflowDefinition:
    raise_for_problems(validate(text, default_registry()))
    return parse_definition(text)


async def _run(
    settings: Settings, compiled: CompiledWorkflow, trigger: dict[str, Any]
) -> ExecutionResult:
    assert settings.database_url is not None
    configure_code_sandbox(settings.code_limits())
    hooks = PrintingHooks(sys.stdout, {nid: cn.spec.type for nid, cn in compiled.nodes.items()})
    async with postgres_checkpointer(libpq_dsn(settings.database_url), max_size=2) as saver:
        return await run_execution(
            compiled,
            execution_id=f"cli-{uuid.uuid4()}",
            workspace_id="cli",
            trigger=trigger,
            checkpointer=saver,
            hooks=hooks,
            max_seconds=settings.execution_timeout_seconds,
        )
