"""Escape attempts against the code nodes' sandbox (#22): every one must fail.

The Python guest runs user code with the whole language and standard library (``ctypes``,
``os``, ``socket``), so these snippets test the operating-system boundary itself: namespaces,
the seccomp filter, rlimits and the worker's per-call limits. For JavaScript the ``vm``
context already hides ``require`` and ``process``; the raw tests below run a hostile program as
the sandbox's *whole* Node.js process (what a ``vm`` escape would get) to test the same boundary.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from security_testkit import Listener

from reporunner.nodes import codesandbox
from reporunner.nodes._seccomp import filter_bpf
from reporunner.nodes.codesandbox import CodeSandboxError, Language, run_code

pytestmark = pytest.mark.timeout(180)

SECRET = "s3cret-value-that-must-not-leak-" + "x" * 16


@pytest.fixture(autouse=True)
def _tight_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small limits so runaway snippets end soon; a secret in the worker's environment."""
    monkeypatch.setenv("REPORUNNER_SECRET_KEY", SECRET)
    before = codesandbox.limits()
    codesandbox.configure(
        codesandbox.with_overrides(
            timeout_seconds=6.0, cpu_seconds=2.0, memory_mb=512, max_output_bytes=1024 * 1024
        )
    )
    yield
    codesandbox.configure(before)
    codesandbox.shutdown()


async def _py(code: str, items: list[Any] | None = None, tenant: str = "ws/run-a") -> Any:
    result = await run_code("python", code, items or [], {}, tenant=tenant)
    return result.items[0] if len(result.items) == 1 else result.items


async def _still_works(language: Language, tenant: str) -> None:
    code = {
        "python": "def main(items, vars):\n    return [{'ok': True}]\n",
        "javascript": "function main() { return [{ ok: true }]; }",
    }[language]
    assert (await run_code(language, code, [], {}, tenant=tenant)).items == [{"ok": True}]


async def test_no_socket_reaches_the_api_port(listener: Listener) -> None:
    code = f"""
import socket
def main(items, vars):
    out = {{}}
    for name, family, address in [
        ("tcp4", socket.AF_INET, ("127.0.0.1", {listener.port})),
        ("tcp6", socket.AF_INET6, ("::1", {listener.port})),
        ("unix", socket.AF_UNIX, "/run/postgresql/.s.PGSQL.5432"),
    ]:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(2)
            sock.connect(address)
            out[name] = "connected"
        except OSError as err:
            out[name] = err.errno
    return [out]
"""
    out = await _py(code)
    assert out == {"tcp4": 1, "tcp6": 1, "unix": 1}  # EPERM from the seccomp filter
    assert listener.connections == 0


async def test_the_host_files_are_not_there(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "secret.key").write_text(SECRET)
    code = f"""
import os
def main(items, vars):
    out = {{"root": sorted(os.listdir("/"))}}
    for path in ["/etc/passwd", "/etc/shadow", {str(data_dir / "secret.key")!r},
                 "/proc/self/environ", "/proc/1/environ", "/root/.bash_history", "/home"]:
        try:
            with open(path) as handle:
                out[path] = handle.read()
        except OSError as err:
            out[path] = err.strerror
    out["environ"] = dict(os.environ)
    return [out]
"""
    out = await _py(code)
    assert set(out["root"]) <= {
        "usr",
        "bin",
        "sbin",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "dev",
        "scratch",
    }
    for path, found in out.items():
        if path.startswith("/"):
            assert found == "No such file or directory", (path, found)
    # what bwrap (--setenv HOME, --chdir) and CPython's locale coercion set; nothing inherited
    assert set(out["environ"]) <= {"HOME", "PWD", "LC_CTYPE"}
    assert SECRET not in json.dumps(out)


async def test_no_process_can_be_started() -> None:
    code = """
import ctypes, os, subprocess, threading
def main(items, vars):
    out = {}
    try:
        subprocess.run(["/usr/bin/touch", "/scratch/by-subprocess"])
        out["subprocess"] = "ran"
    except OSError as err:
        out["subprocess"] = err.errno
    out["system"] = os.system("/usr/bin/touch /scratch/by-system")
    try:
        os.posix_spawn("/usr/bin/touch", ["touch", "/scratch/by-spawn"], {})
        out["spawn"] = "ran"
    except OSError as err:
        out["spawn"] = err.errno
    libc = ctypes.CDLL(None, use_errno=True)
    out["ctypes_fork"] = libc.fork()
    out["ctypes_socket"] = libc.socket(2, 1, 0)
    out["ctypes_unshare"] = libc.unshare(0x10000000)  # CLONE_NEWUSER
    try:
        threading.Thread(target=print).start()
        out["thread"] = "started"
    except RuntimeError:
        out["thread"] = "refused"
    out["files"] = sorted(os.listdir("/scratch"))
    return [out]
"""
    out = await _py(code)
    assert out["subprocess"] == 1
    assert out["spawn"] == 1
    assert out["system"] != 0
    assert out["ctypes_fork"] == out["ctypes_socket"] == out["ctypes_unshare"] == -1
    assert out["thread"] == "refused"
    assert out["files"] == []


async def test_a_fork_bomb_gets_nowhere() -> None:
    code = "import os\ndef main(items, vars):\n    while True:\n        os.fork()\n"
    with pytest.raises(CodeSandboxError, match="PermissionError"):
        await run_code("python", code, [], {}, tenant="ws/bomb")
    await _still_works("python", "ws/bomb")


@pytest.mark.parametrize(
    ("language", "code", "message"),
    [
        ("python", "def main(items, vars):\n    b = bytearray(10 * 1024**3)\n", "MemoryError"),
        (
            "python",
            "def main(items, vars):\n    keep = []\n    while True:\n"
            "        keep.append(bytearray(50 * 1024**2))\n",
            "MemoryError",
        ),
        ("javascript", "function main() { new ArrayBuffer(10 * 2 ** 30); }", "RangeError"),
        (
            "javascript",
            "function main() { const keep = []; for (;;) keep.push(new Array(1e6).fill(1.5)); }",
            "ran out of memory",
        ),
    ],
)
async def test_allocating_10_gb_fails_inside_the_sandbox(
    language: str, code: str, message: str
) -> None:
    with pytest.raises(CodeSandboxError, match=message):
        await run_code(language, code, [], {}, tenant="ws/memory")  # type: ignore[arg-type]
    await _still_works(language, "ws/memory")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("python", "def main(items, vars):\n    while True:\n        pass\n"),
        (
            "python",
            "import signal\nfor s in (signal.SIGXCPU, signal.SIGTERM, signal.SIGALRM):\n"
            "    signal.signal(s, signal.SIG_IGN)\n"
            "def main(items, vars):\n    while True:\n        pass\n",
        ),
        ("python", "import time\ndef main(items, vars):\n    time.sleep(3600)\n"),
        ("javascript", "function main() { for (;;) {} }"),
        ("javascript", "async function main() { await new Promise(() => {}); }"),
    ],
)
async def test_an_endless_call_is_stopped(language: str, code: str) -> None:
    with pytest.raises(CodeSandboxError, match=r"the code was stopped: it (ran longer|used more)"):
        await run_code(language, code, [], {}, tenant="ws/loop")  # type: ignore[arg-type]
    await _still_works(language, "ws/loop")  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["python", "javascript"])
async def test_100_mb_of_output_is_refused(language: str) -> None:
    code = {
        "python": "def main(items, vars):\n    return [{'x': 'a' * 100_000_000}]\n",
        "javascript": "function main() { return [{ x: 'a'.repeat(100000000) }]; }",
    }[language]
    with pytest.raises(CodeSandboxError, match="over the limit of 1048576 bytes"):
        await run_code(language, code, [], {}, tenant="ws/out")  # type: ignore[arg-type]


async def test_100_mb_printed_or_written_is_bounded() -> None:
    code = """
import os
def main(items, vars):
    print("p" * 100_000_000)
    os.write(1, b"w" * 10_000_000)
    try:
        with open("/scratch/big", "wb") as handle:
            handle.write(b"f" * 100_000_000)
        wrote = "all"
    except OSError as err:
        wrote = err.strerror
    return [{"wrote": wrote}]
"""
    result = await run_code("python", code, [], {}, tenant="ws/print")
    assert result.items[0]["wrote"] in {"File too large", "No space left on device"}
    assert 0 < len(result.logs) <= 64_000


async def test_a_forged_answer_on_the_protocol_pipe_kills_only_that_sandbox() -> None:
    code = """
import os
def main(items, vars):
    for fd in range(3, 16):
        try:
            os.write(fd, (2**32 - 1).to_bytes(4, "big") + b"{")
        except OSError:
            pass
    return [{"honest": True}]
"""
    with pytest.raises(CodeSandboxError, match=r"over the limit|protocol"):
        await run_code("python", code, [], {}, tenant="ws/forge")
    await _still_works("python", "ws/forge")


async def test_another_runs_scratch_is_out_of_reach() -> None:
    writer = """
import os
def main(items, vars):
    with open("/scratch/secret.txt", "w") as handle:
        handle.write("run a's secret")
    return [{"here": os.listdir("/scratch")}]
"""
    reader = """
import os
def main(items, vars):
    found = []
    for root, dirs, files in os.walk("/"):
        if root == "/":  # the read-only system (never walked: a busy machine is slow at it)
            dirs[:] = [d for d in dirs if d not in ("usr", "dev", "lib", "lib64", "bin", "sbin")]
        found += [os.path.join(root, f) for f in files]
    return [{"files": found, "proc": os.path.exists("/proc")}]
"""
    assert await _py(writer, tenant="ws-1/run-a") == {"here": ["secret.txt"]}
    seen = await _py(reader, tenant="ws-2/run-b")
    assert seen == {"files": [], "proc": False}
    # the next call of the same run starts with an empty scratch too
    again = await _py(reader, tenant="ws-1/run-a")
    assert again == {"files": [], "proc": False}


async def test_a_concurrent_run_cannot_tamper_with_items() -> None:
    victim = """
import time
def main(items, vars):
    time.sleep(1.5)
    return items
"""
    attacker = """
import os, signal
def main(items, vars):
    hit = []
    for pid in range(1, 4096):
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            hit.append(pid)
        except OSError:
            pass
    return [{"me": os.getpid(), "hit": hit}]
"""
    items = [{"amount": 100, "to": "alice"}]
    victim_task = asyncio.create_task(run_code("python", victim, items, {}, tenant="ws-1/victim"))
    attack = await run_code("python", attacker, [], {}, tenant="ws-2/attacker")
    # only the attacker's own PID namespace is in reach: its PID 1 (the reaper) at most
    assert set(attack.items[0]["hit"]) <= {1}
    assert (await victim_task).items == items


async def test_runs_never_share_an_interpreter() -> None:
    mark = "import sys\ndef main(items, vars):\n    sys.mark = vars['run']\n    return [{}]\n"
    read = "import sys\ndef main(items, vars):\n    return [{'mark': getattr(sys, 'mark', None)}]\n"
    await run_code("python", mark, [], {"run": "a"}, tenant="ws/run-a")
    # the same run keeps its interpreter (state it leaves in modules stays its own) ...
    assert (await run_code("python", read, [], {}, tenant="ws/run-a")).items == [{"mark": "a"}]
    # ... and no other run, of this workspace or another, ever gets it
    for tenant in ("ws/run-b", "ws-2/run-a"):
        assert (await run_code("python", read, [], {}, tenant=tenant)).items == [{"mark": None}]


HOSTILE_JS = """
const fs = require("fs");
const out = {};
for (const path of ["/etc/passwd", "/proc/self/environ", "/root"]) {
  try { out[path] = fs.readFileSync(path, "utf8"); } catch (err) { out[path] = err.code; }
}
try {
  fs.writeFileSync("/usr/owned", "x");
  out.write = "wrote";
} catch (err) {
  out.write = err.code;
}
try {
  require("child_process").execSync("/usr/bin/id");
  out.exec = "ran";
} catch (err) {
  out.exec = err.code;
}
out.env = process.env;
const sock = require("net").connect(PORT, "127.0.0.1");
sock.on("connect", () => finish("connected"));
sock.on("error", (err) => finish(err.code));
function finish(net) {
  out.net = net;
  process.stdout.write(JSON.stringify(out), () => process.exit(0));
}
"""


def test_a_vm_escape_still_meets_the_boundary(listener: Listener) -> None:
    """The JavaScript guest's whole Node.js process, run hostile: what escaping ``vm`` gets."""
    lim = codesandbox.limits()
    seccomp_fd = os.memfd_create("test-seccomp")
    read_info, write_info = os.pipe()
    try:
        os.write(seccomp_fd, filter_bpf(threads=True))
        os.lseek(seccomp_fd, 0, os.SEEK_SET)
        argv = codesandbox._command(
            "javascript",
            lim,
            seccomp_fd,
            write_info,
            guest=HOSTILE_JS.replace("PORT", str(listener.port)),
        )
        started = time.monotonic()
        done = subprocess.run(
            argv,
            env={},
            pass_fds=(seccomp_fd, write_info),
            capture_output=True,
            timeout=60,
            check=False,
            **codesandbox._outer_user(),
        )
    finally:
        os.close(seccomp_fd)
        os.close(read_info)
        os.close(write_info)
    assert time.monotonic() - started < 60
    out = json.loads(done.stdout)
    assert out["/etc/passwd"] == out["/proc/self/environ"] == out["/root"] == "ENOENT"
    assert out["write"] in {"EROFS", "EACCES"}
    assert out["exec"] == "EPERM"
    assert out["net"] == "EPERM"
    assert out["env"] == {"HOME": "/scratch", "PWD": "/scratch"}
    assert listener.connections == 0
    assert SECRET not in done.stdout.decode()


def _lease(tenant: str) -> Any:
    return codesandbox._POOL._leases.get(("python", tenant))


async def _until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def test_a_cancelled_run_kills_its_sandbox_at_once() -> None:
    endless = "def main(items, vars):\n    while True:\n        pass\n"
    codesandbox.configure(codesandbox.with_overrides(timeout_seconds=600, cpu_seconds=600))
    task = asyncio.create_task(run_code("python", endless, [], {}, tenant="ws/cancel"))
    await _until(lambda: _lease("ws/cancel") is not None, "the call never leased a sandbox")
    box = _lease("ws/cancel")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until(lambda: box.proc.poll() is not None, "the sandbox outlived its cancelled run")
    assert _lease("ws/cancel") is None


async def test_an_idle_lease_is_reaped() -> None:
    codesandbox.configure(codesandbox.with_overrides(lease_idle_seconds=0.2))
    await _still_works("python", "ws/idle")
    box = _lease("ws/idle")
    assert box is not None
    await _until(lambda: box.proc.poll() is not None, "the idle sandbox was never reaped")
    assert _lease("ws/idle") is None


async def test_only_the_bounded_scratch_is_writable() -> None:
    code = """
import os
def main(items, vars):
    out = {}
    for path in ["/x", "/dev/x", "/dev/shm/x", "/usr/x", "/bin/x", "/scratch/x"]:
        try:
            with open(path, "wb") as handle:
                handle.write(b"a")
            out[path] = "wrote"
        except OSError as err:
            out[path] = err.strerror
    written = 0
    try:
        for i in range(1000):  # many files, each under the file-size limit
            with open(f"/scratch/part-{i}", "wb") as handle:
                handle.write(b"b" * 1024 * 1024)
            written += 1
    except OSError as err:
        out["stopped"] = err.strerror
    out["megabytes"] = written
    return [out]
"""
    out = await _py(code, tenant="ws/fill")
    for path in ("/x", "/dev/x", "/dev/shm/x", "/usr/x", "/bin/x"):
        assert out[path] == "Read-only file system", path
    assert out["/scratch/x"] == "wrote"
    assert out["stopped"] == "No space left on device"
    assert out["megabytes"] <= codesandbox.limits().scratch_mb


async def test_the_sandbox_runs_as_nobody_on_the_host_and_cannot_raise_its_limits() -> None:
    code = """
import resource
def main(items, vars):
    out = {}
    for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NPROC"):
        limit = getattr(resource, name)
        soft, hard = resource.getrlimit(limit)
        try:
            resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            out[name] = "raised"
        except (OSError, ValueError):
            out[name] = "refused"
    return [out]
"""
    out = await _py(code, tenant="ws/limits")
    assert set(out.values()) == {"refused"}
    box = _lease("ws/limits")
    expected = 65534 if os.geteuid() == 0 else os.geteuid()
    for pid in codesandbox._sandbox_pids(box.reaper):
        status = Path(f"/proc/{pid}/status").read_text()
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        assert {int(u) for u in uids} == {expected}, (pid, uids)
