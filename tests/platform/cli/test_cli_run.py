"""``reporunner run FILE`` as a real subprocess on the test's Postgres and Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPORUNNER = str(Path(sys.executable).parent / "reporunner")

FLOW = {
    "name": "cli demo",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {
            "id": "greet",
            "type": "data.set",
            "params": {"fields": [{"name": "greeting", "value": "hi {{ trigger.who }}"}]},
        },
        {"id": "done", "type": "logic.noop"},
    ],
    "edges": [{"source": "start", "target": "greet"}, {"source": "greet", "target": "done"}],
}


def _run(services, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "REPORUNNER_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [REPORUNNER, "run", *args], env=env, capture_output=True, text=True, timeout=90, check=False
    )


def test_run_prints_each_node_result_in_order(services, tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(FLOW))
    done = _run(services, tmp_path, str(path), "--input", '{"who": "Ada"}')
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    finished = [line.split()[1] for line in lines if line.startswith("ok ")]
    assert finished == ["start", "greet", "done"]
    greet = lines.index(next(line for line in lines if line.startswith("ok   greet")))
    assert json.loads(lines[greet + 1].split("main: ", 1)[1]) == [
        {"who": "Ada", "greeting": "hi Ada"}
    ]
    assert "execution succeeded" in lines
    assert lines[-1] == 'result: [{"who": "Ada", "greeting": "hi Ada"}]'


def test_run_lists_every_problem_of_an_invalid_file(services, tmp_path: Path) -> None:
    broken = {**FLOW, "edges": [*FLOW["edges"], {"source": "done", "target": "ghost"}]}
    broken["nodes"] = [*FLOW["nodes"], {"id": "odd", "type": "data.sett"}]
    path = tmp_path / "broken.yaml"
    path.write_text(json.dumps(broken))
    done = _run(services, tmp_path, str(path))
    assert done.returncode == 2
    assert "/edges/2/target:" in done.stderr
    assert "/nodes/3/type:" in done.stderr
    assert "data.set" in done.stderr  # the did-you-mean hint
    assert "Traceback" not in done.stderr


def test_run_refuses_input_that_is_not_an_object(services, tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(FLOW))
    done = _run(services, tmp_path, str(path), "--input", "[1, 2]")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        'reporunner: --input must be a JSON object, e.g. \'{"email": "a@b.c"}\''
    )


def test_run_executes_code_nodes_in_their_sandbox(services, tmp_path: Path) -> None:
    flow = {
        "name": "cli code",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "py",
                "type": "code.python",
                "params": {"code": "def main(items, vars):\n    return [{'n': items[0]['n'] + 1}]"},
            },
            {
                "id": "js",
                "type": "code.javascript",
                "params": {"code": "function main(items) { return [{ n: items[0].n * 10 }]; }"},
            },
        ],
        "edges": [{"source": "start", "target": "py"}, {"source": "py", "target": "js"}],
    }
    path = tmp_path / "code.json"
    path.write_text(json.dumps(flow))
    done = _run(services, tmp_path, str(path), "--input", '{"n": 4}')
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == 'result: [{"n": 50}]'
