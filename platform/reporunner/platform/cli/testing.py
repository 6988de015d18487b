"""``reporunner test FILE|WORKFLOW``: run a workflow's test cases and print what passed.

``FILE`` is a definition file (JSON or YAML) with a ``tests`` list; ``WORKFLOW`` is a stored
workflow's id, whose published version (else its latest) is tested. Cases run here, in this
process, like ``reporunner run``: without credentials or platform services (pin the nodes that
need them), and nothing is stored. The exit status is 0 when every case passed, 1 when one
failed, 2 when the workflow or its tests are invalid.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reporunner.nodes.errors import NotFoundError, ReporunnerError, ValidationFailed
from reporunner.nodes.registry import default_registry
from reporunner.platform.cli.run import _read
from reporunner.platform.cli.signin import _database
from reporunner.platform.db.models import Workflow, WorkflowVersion
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.engine import (
    WorkflowDefinition,
    compile_workflow,
    parse_definition,
    raise_for_problems,
    validate,
)
from reporunner.platform.settings import load_settings
from reporunner.platform.workflows.testing import CaseResult, case_runner, llm_judge, run_tests

__all__ = ["add_parser", "cmd_test"]

_UUID = re.compile(r"^[0-9a-fA-F-]{36}$")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("test", help="run a workflow's test cases (a file or a stored workflow)")
    p.add_argument("target", metavar="FILE|WORKFLOW", help="definition file or workflow id")
    p.add_argument(
        "--case", action="append", default=[], metavar="NAME", help="run only this case (repeat)"
    )
    p.set_defaults(handler=cmd_test)


async def _stored(database_url: str, workflow_id: uuid.UUID) -> WorkflowDefinition:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            wf = await session.get(Workflow, workflow_id)
            if wf is None:
                raise NotFoundError(f"no workflow {workflow_id}; list them with GET /workflows")
            query = select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)
            if wf.published_version_id is not None:
                query = query.where(WorkflowVersion.id == wf.published_version_id)
            version = await session.scalar(query.order_by(WorkflowVersion.number.desc()))
            if version is None:
                raise NotFoundError(f"workflow {workflow_id} has no saved version")
            return parse_definition(version.definition)
    finally:
        await engine.dispose()


def _load(target: str) -> WorkflowDefinition:
    if _UUID.match(target) and not Path(target).exists():
        settings = load_settings()
        with _database(settings) as url:
            return asyncio.run(_stored(url, uuid.UUID(target)))
    text = _read(Path(target))
    raise_for_problems(validate(text, default_registry()))
    return parse_definition(text)


def _say(result: CaseResult) -> None:
    mark = "PASS" if result.passed else "FAIL"
    print(f"{mark} {result.name} ({result.status}, {result.duration_ms:.0f} ms)", flush=True)
    for check in result.assertions:
        if not check.passed:
            print(f"     {check.check}: {check.message}", flush=True)


def cmd_test(args: argparse.Namespace) -> int:
    try:
        defn = _load(args.target)
    except ValidationFailed as err:
        print(f"reporunner: {args.target} is invalid:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem['pointer'] or '/'}: {problem['message']}", file=sys.stderr)
        return 2
    cases = [c for c in defn.tests if not args.case or c.name in args.case]
    unknown = set(args.case) - {c.name for c in defn.tests}
    if unknown:
        known = ", ".join(c.name for c in defn.tests) or "none"
        raise ReporunnerError(f"no test case {', '.join(sorted(unknown))} (cases: {known})")
    if not cases:
        raise ReporunnerError(
            f"{args.target} has no test cases; add a 'tests' list to the definition"
        )
    compiled = compile_workflow(defn, default_registry())
    settings = load_settings()

    async def go() -> bool:
        async def on_case(result: CaseResult) -> None:
            _say(result)

        report = await run_tests(
            cases,
            case_runner(
                compiled,
                workspace_id="cli",
                max_output_bytes=settings.max_output_bytes,
                max_seconds=settings.execution_timeout_seconds,
            ),
            judge=llm_judge(settings.llm_model),
            on_case=on_case,
        )
        failed = sum(not c.passed for c in report.cases)
        print(f"{len(report.cases) - failed} passed, {failed} failed", flush=True)
        return report.passed

    return 0 if asyncio.run(go()) else 1
