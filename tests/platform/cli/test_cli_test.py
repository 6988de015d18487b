"""``reporunner test FILE|WORKFLOW`` as a real subprocess: exit status 0 when every case
passes, 1 with the failed check's message, 2 for an invalid file, a clear line for a missing
case or workflow."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from reporunner.nodes.registry import default_registry
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.workflows import create_workflow

REPORUNNER = str(Path(sys.executable).parent / "reporunner")

FLOW: dict[str, Any] = {
    "name": "cli tests",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {
            "id": "greet",
            "type": "data.set",
            "params": {"fields": [{"name": "greeting", "value": "hi {{ trigger.who }}"}]},
        },
    ],
    "edges": [{"source": "start", "target": "greet"}],
    "tests": [
        {
            "name": "greets Ada",
            "trigger": {"who": "Ada"},
            "assertions": [{"check": "equals", "path": "0.greeting", "expected": "hi Ada"}],
        },
        {
            "name": "greets Bob",
            "trigger": {"who": "Bob"},
            "assertions": [{"check": "regex", "path": "0.greeting", "expected": "^hi B"}],
        },
    ],
}


def _test(services, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "REPORUNNER_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [REPORUNNER, "test", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _file(tmp_path: Path, flow: dict[str, Any]) -> str:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(flow))
    return str(path)


def test_every_case_passes(services, tmp_path: Path) -> None:
    done = _test(services, tmp_path, _file(tmp_path, FLOW))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" (")[0] for line in lines[:2]] == ["PASS greets Ada", "PASS greets Bob"]
    assert lines[-1] == "2 passed, 0 failed"


def test_a_failed_case_prints_its_check_and_exits_1(services, tmp_path: Path) -> None:
    flow = json.loads(json.dumps(FLOW))
    flow["tests"][0]["assertions"][0]["expected"] = "hi Carol"
    done = _test(services, tmp_path, _file(tmp_path, flow), "--case", "greets Ada")
    assert done.returncode == 1, done.stdout
    assert done.stdout.splitlines() == [
        done.stdout.splitlines()[0],
        "     equals: final items.0.greeting is 'hi Ada', expected 'hi Carol'",
        "0 passed, 1 failed",
    ]
    assert done.stdout.startswith("FAIL greets Ada (succeeded, ")


def test_invalid_files_and_names_get_one_clear_message(services, tmp_path: Path) -> None:
    broken = {**FLOW, "tests": [{"name": "x", "assertions": [{"check": "regex", "expected": 1}]}]}
    done = _test(services, tmp_path, _file(tmp_path, broken))
    assert done.returncode == 2
    assert "/tests/0/assertions/0/expected: test 'x': a regex is a string" in done.stderr
    missing = _test(services, tmp_path, _file(tmp_path, FLOW), "--case", "nope")
    assert missing.returncode == 2
    assert "no test case nope (cases: greets Ada, greets Bob)" in missing.stderr
    untested = _test(services, tmp_path, _file(tmp_path, {**FLOW, "tests": []}))
    assert untested.returncode == 2
    assert "has no test cases" in untested.stderr
    nowhere = _test(services, tmp_path, str(uuid.uuid4()))
    assert nowhere.returncode == 2
    assert "no workflow" in nowhere.stderr
    for done in (missing, untested, nowhere):
        assert "Traceback" not in done.stderr


async def test_a_stored_workflow_is_tested_by_its_id(services, tenant_factory, tmp_path) -> None:
    tenant = await tenant_factory(role="editor")
    engine = create_engine(services.database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            wf, _ = await create_workflow(
                session,
                tenant.workspace_id,
                json.dumps(FLOW).encode(),
                default_registry(),
                user_id=tenant.user_id,
            )
    finally:
        await engine.dispose()
    done = await asyncio.to_thread(_test, services, tmp_path, str(wf.id))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2 passed, 0 failed"
