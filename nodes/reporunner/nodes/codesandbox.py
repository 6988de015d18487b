"""Sandboxes for the code nodes: a separate interpreter under bubblewrap, kept warm in a pool.

**The boundary.** Each sandbox is ``bwrap`` running ``python3`` (``code.python``) or ``node``
(``code.javascript``) with new user, PID, network, IPC, UTS and cgroup namespaces, mapped to
uid/gid 65534 with every capability dropped; a root made of read-only binds of ``/usr`` (and
the ``/lib``/``/bin`` links) only, a private ``/dev``, no ``/proc``, no ``/etc`` and no ``/home``;
a ``tmpfs`` at ``/scratch`` (bounded) as the only writable place; an empty environment (bwrap
itself is started with an empty environment, so no process in the sandbox holds the worker's);
a seccomp filter (:mod:`._seccomp`) refusing sockets, process creation, namespaces, mounts and
``ptrace``; and rlimits on address space, file size, open files and lifetime CPU time. The
worker enforces per call: wall time (the sandbox is killed), CPU time (read from the
sandbox's ``/proc/<pid>/stat`` while it runs; killed when over) and the size of the answer.

**The pool.** Sandboxes are started ahead of use (``warm`` idle ones per language). A sandbox is
*leased* to one execution (workspace id + execution id) at its first code call and serves only
that execution's later calls; it is never handed to another execution, and it is killed when
the lease is idle for ``lease_idle_seconds``, when more than ``max_leases`` are open (least
recently used first) or after any failure (time, memory, protocol). So two runs never share
an interpreter, a scratch directory or memory; calls of one run do share the interpreter
(each call gets a fresh namespace and an emptied ``/scratch``).

The pool is process-wide and loop-independent: calls run the blocking pipe I/O in a thread.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from reporunner.nodes._seccomp import filter_bpf
from reporunner.nodes.errors import ConfigurationError, NodeError

__all__ = [
    "CodeLimits",
    "CodeResult",
    "CodeSandboxError",
    "Language",
    "configure",
    "limits",
    "prewarm",
    "run_code",
    "shutdown",
    "with_overrides",
]

Language = Literal["python", "javascript"]

_HERE = Path(__file__).parent
_GUEST = {"python": _HERE / "_code_guest.py", "javascript": _HERE / "_code_guest.js"}
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_POLL_SECONDS = 0.02
_NOBODY = "65534"
_PRLIMIT = "/usr/bin/prlimit"


@dataclass(frozen=True, slots=True)
class CodeLimits:
    """Per-call bounds and pool sizes (the platform fills them from ``REPORUNNER_CODE_*``)."""

    timeout_seconds: float = 10.0
    cpu_seconds: float = 5.0
    memory_mb: int = 256
    max_output_bytes: int = 16 * 1024 * 1024
    scratch_mb: int = 16
    warm: int = 1
    lease_idle_seconds: float = 60.0
    max_leases: int = 32
    lifetime_cpu_seconds: int = 600
    python: str | None = None
    node: str | None = None


@dataclass(frozen=True, slots=True)
class CodeResult:
    """What the user's function returned, and what it printed."""

    items: list[dict[str, Any]]
    logs: str


class CodeSandboxError(NodeError):
    """The user's code failed (``line`` is its line, when known) or broke a limit."""

    code = "code_error"

    def __init__(self, detail: str, *, line: int | None = None, logs: str = "") -> None:
        super().__init__(detail, line=line)
        self.line = line
        self.logs = logs


_limits = CodeLimits()


def configure(new: CodeLimits) -> None:
    """Set the limits of later sandboxes and calls (sandboxes already warm are restarted)."""
    global _limits
    if new != _limits:
        _limits = new
        _POOL.reset()


def limits() -> CodeLimits:
    """The limits in force."""
    return _limits


def _interpreter(language: Language, lim: CodeLimits) -> str:
    if language == "python":
        candidates = [lim.python] if lim.python else ["/usr/bin/python3", "/usr/local/bin/python3"]
        what, setting = "python3", "REPORUNNER_CODE_PYTHON"
    else:
        candidates = [lim.node] if lim.node else ["/usr/bin/node", "/usr/local/bin/node"]
        what, setting = "node", "REPORUNNER_CODE_NODE"
    for path in candidates:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            real = os.path.realpath(path)  # links through /etc/alternatives end outside /usr
            if not real.startswith("/usr/"):
                raise ConfigurationError(
                    f"{setting}={path}: the sandbox sees only /usr and {path} is {real}; give "
                    "an interpreter under /usr"
                )
            return real
    raise ConfigurationError(
        f"the code.{language} node needs {what} under /usr ({', '.join(map(str, candidates))} "
        f"not found); install it or set {setting}"
    )


def _prlimit() -> str:
    if not Path(_PRLIMIT).is_file():
        raise ConfigurationError(
            f"the code nodes need {_PRLIMIT} (Debian: util-linux) to set the sandbox's rlimits"
        )
    return _PRLIMIT


def _bwrap() -> str:
    found = shutil.which("bwrap") or ("/usr/bin/bwrap" if Path("/usr/bin/bwrap").exists() else None)
    if found is None:
        raise ConfigurationError(
            "the code nodes need bubblewrap (Debian: apt-get install bubblewrap)"
        )
    return found


def _root_links() -> list[str]:
    args: list[str] = []
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    return args


def _command(
    language: Language, lim: CodeLimits, seccomp_fd: int, info_fd: int, guest: str | None = None
) -> list[str]:
    """The ``bwrap`` argv of a sandbox (``guest``: another program than the guest, for tests
    that check the boundary with full interpreter powers)."""
    interpreter = _interpreter(language, lim)
    guest = guest if guest is not None else _GUEST[language].read_text(encoding="utf-8")
    memory = lim.memory_mb * 1024 * 1024
    if language == "python":
        address_space = memory + 64 * 1024 * 1024
        run = [interpreter, "-I", "-S", "-B", "-c", guest]
    else:
        # V8 reserves ~1 GB of address space up front; its heap is bounded by the flag below
        address_space = memory + 1024 * 1024 * 1024
        run = [
            interpreter,
            f"--max-old-space-size={lim.memory_mb}",
            "--v8-pool-size=1",
            "--disallow-code-generation-from-strings",
            "-e",
            guest,
        ]
    scratch = lim.scratch_mb * 1024 * 1024
    return [
        _bwrap(),
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--uid",
        _NOBODY,
        "--gid",
        _NOBODY,
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--clearenv",
        "--ro-bind",
        "/usr",
        "/usr",
        *_root_links(),
        "--dev",
        "/dev",
        "--size",
        str(scratch),
        "--tmpfs",
        "/scratch",
        # the root and /dev are tmpfs mounts bwrap makes (owned by the sandbox's user): read-only,
        # so /scratch, bounded, stays the only place a snippet can write
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        "/scratch",
        "--setenv",
        "HOME",
        "/scratch",
        "--info-fd",
        str(info_fd),
        "--seccomp",
        str(seccomp_fd),
        "--",
        _prlimit(),
        f"--as={address_space}",
        f"--fsize={scratch}",
        "--nofile=64",
        "--nproc=64",
        "--core=0",
        f"--cpu={lim.lifetime_cpu_seconds}",
        "--",
        *run,
    ]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid``'s threads, 0 when it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _sandbox_pids(reaper: int) -> list[int]:
    """The reaper (bwrap's PID 1) and its children: the interpreter runs as one of them."""
    pids = [reaper]
    try:
        children = Path(f"/proc/{reaper}/task/{reaper}/children").read_text().split()
    except OSError:
        return pids
    return pids + [int(c) for c in children]


def _outer_user() -> dict[str, Any]:
    """A worker running as root starts bwrap as ``nobody`` (65534): the sandbox's user is then
    nobody on the host too (bwrap run by root would map it to root), and RLIMIT_NPROC counts."""
    if os.geteuid() != 0:
        return {}
    return {"user": int(_NOBODY), "group": int(_NOBODY), "extra_groups": []}


class _Killed(Exception):
    """The sandbox broke a limit and was killed (the message says which)."""


@dataclass(eq=False)
class _Sandbox:
    language: Language
    lim: CodeLimits
    proc: subprocess.Popen[bytes]
    reaper: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    dead: bool = False
    users: int = 0
    retired: bool = False

    @classmethod
    def start(cls, language: Language, lim: CodeLimits) -> _Sandbox:
        """Start a sandbox from a spawner thread that lives as long as the process: bwrap's
        ``--die-with-parent`` is a parent-death signal, which fires when the *thread* that
        started it ends (a short-lived thread would take its sandboxes with it)."""
        return _SPAWNER.submit(cls._start, language, lim).result()

    @classmethod
    def _start(cls, language: Language, lim: CodeLimits) -> _Sandbox:
        bpf = filter_bpf(threads=language == "javascript")
        seccomp_fd = os.memfd_create("reporunner-seccomp")
        info_read, info_write = os.pipe()
        try:
            os.write(seccomp_fd, bpf)
            os.lseek(seccomp_fd, 0, os.SEEK_SET)
            proc = subprocess.Popen(
                _command(language, lim, seccomp_fd, info_write),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={},
                pass_fds=(seccomp_fd, info_write),
                close_fds=True,
                start_new_session=True,
                **_outer_user(),
            )
        finally:
            os.close(seccomp_fd)
            os.close(info_write)
        try:
            info = _read_info(info_read, time.monotonic() + 30)
        finally:
            os.close(info_read)
        box = cls(language, lim, proc, int(info.get("child-pid", proc.pid)))
        try:
            ready = box._receive(time.monotonic() + 30, cpu_limit=None, max_bytes=1024)
        except (_Killed, CodeSandboxError) as err:
            box.kill()
            raise CodeSandboxError(f"the {language} sandbox did not start: {err}") from None
        if not ready.get("ready"):
            box.kill()
            raise CodeSandboxError(f"the {language} sandbox did not start")
        return box

    def stop(self) -> None:
        """SIGKILL the sandbox (safe while another thread waits on it: that thread reads EOF)."""
        self.dead = True
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the sandbox and close its pipes (only by the thread that last used it)."""
        self.stop()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.proc.wait()

    def _cpu(self) -> float:
        return sum(_cpu_seconds(pid) for pid in _sandbox_pids(self.reaper))

    def _receive(
        self, deadline: float, *, cpu_limit: float | None, max_bytes: int
    ) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = bytearray()
        need = 4
        size: int | None = None
        while len(buf) < need:
            now = time.monotonic()
            if now >= deadline:
                raise _Killed(f"it ran longer than {self.lim.timeout_seconds:g} s (wall time)")
            if cpu_limit is not None and self._cpu() > cpu_limit:
                raise _Killed(f"it used more than {self.lim.cpu_seconds:g} s of CPU time")
            ready, _, _ = select.select([fd], [], [], min(_POLL_SECONDS, deadline - now))
            if not ready:
                continue
            chunk = os.read(fd, min(need - len(buf), 1 << 20))
            if not chunk:
                raise _Killed(self._exit_reason())
            buf += chunk
            if size is None and len(buf) >= 4:
                size = int.from_bytes(buf[:4], "big")
                if size > max_bytes:
                    raise _Killed(
                        f"its output is over the limit of {self.lim.max_output_bytes} bytes"
                    )
                need = 4 + size
        try:
            answer: dict[str, Any] = json.loads(bytes(buf[4:]))
        except ValueError:
            raise _Killed("it broke the sandbox protocol") from None
        return answer

    def _exit_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "the sandbox stopped answering"
        return (
            f"the sandbox ended (exit status {code}): it ran out of memory "
            f"({self.lim.memory_mb} MB) or CPU time, or exited"
        )

    def call(self, data: bytes) -> dict[str, Any]:
        """Send one request (JSON) and wait for its answer, within the limits (kills on a
        breach)."""
        assert self.proc.stdin is not None
        start = time.monotonic()
        cpu_start = self._cpu()
        try:
            self.proc.stdin.write(len(data).to_bytes(4, "big") + data)
            self.proc.stdin.flush()
            answer = self._receive(
                start + self.lim.timeout_seconds,
                cpu_limit=cpu_start + self.lim.cpu_seconds,
                max_bytes=self.lim.max_output_bytes + 128 * 1024,
            )
        except (_Killed, BrokenPipeError, OSError) as err:
            reason = str(err) if isinstance(err, _Killed) else self._exit_reason()
            self.kill()
            raise CodeSandboxError(f"the code was stopped: {reason}") from None
        finally:
            self.last_used = time.monotonic()
        return answer


def _read_info(fd: int, deadline: float) -> dict[str, Any]:
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
        try:
            info: dict[str, Any] = json.loads(buf)
        except ValueError:
            continue
        return info
    raise CodeSandboxError("bubblewrap did not start the sandbox (see its error output)")


class _Pool:
    """Warm idle sandboxes per language, and sandboxes leased to executions.

    A leased sandbox counts its callers (``users``); one that expires or is evicted while in
    use is only marked ``retired`` and killed by its last caller, so no call loses its sandbox
    mid-way and no sandbox outlives the pool's knowledge of it.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._idle: dict[Language, list[_Sandbox]] = {"python": [], "javascript": []}
        self._leases: OrderedDict[tuple[Language, str], _Sandbox] = OrderedDict()
        self._filling: set[Language] = set()
        self._reaper: threading.Thread | None = None

    def forget(self) -> None:
        """In a forked child: drop the parent's sandboxes without touching them."""
        self._mutex = threading.Lock()
        self._idle = {"python": [], "javascript": []}
        self._leases = OrderedDict()
        self._filling = set()
        self._reaper = None

    def reset(self) -> None:
        with self._mutex:
            boxes = [b for idle in self._idle.values() for b in idle]
            for box in self._leases.values():
                box.retired = True
                if box.users == 0:
                    boxes.append(box)
            self._idle = {"python": [], "javascript": []}
            self._leases.clear()
        for box in boxes:
            box.kill()

    def _expire(self, lim: CodeLimits) -> list[_Sandbox]:
        """Take expired leases out (under the mutex); returns those to kill now."""
        now = time.monotonic()
        stale = [
            key
            for key, box in self._leases.items()
            if box.dead or (box.users == 0 and now - box.last_used > lim.lease_idle_seconds)
        ]
        while len(self._leases) - len(stale) > lim.max_leases:
            stale.append(next(k for k in self._leases if k not in stale))
        kill = []
        for key in stale:
            box = self._leases.pop(key)
            box.retired = True
            if box.users == 0:
                kill.append(box)
        return kill

    def lease(self, language: Language, tenant: str) -> _Sandbox:
        """The sandbox of ``tenant`` (taken from the warm ones, or started, on first use);
        the caller must :meth:`release` it."""
        lim = _limits
        key = (language, tenant)
        with self._mutex:
            dropped = self._expire(lim)
            box = self._leases.get(key)
            if box is None:
                idle = self._idle[language]
                box = idle.pop() if idle else None
                if box is not None:
                    self._leases[key] = box
            if box is not None:
                self._leases.move_to_end(key)
                box.users += 1
        for old in dropped:
            old.kill()
        if box is None:
            box = _Sandbox.start(language, lim)
            with self._mutex:
                current = self._leases.get(key)
                if current is None:
                    self._leases[key] = box
                    box.users += 1
            if current is not None:  # a concurrent call of the same run was faster
                box.kill()
                return self.lease(language, tenant)
        self.refill(language)
        self._start_reaper()
        return box

    def release(self, language: Language, tenant: str, box: _Sandbox, *, broken: bool) -> None:
        """A call is done with ``box``; a ``broken`` sandbox leaves the pool."""
        with self._mutex:
            box.users -= 1
            box.last_used = time.monotonic()
            if broken and self._leases.get((language, tenant)) is box:
                del self._leases[(language, tenant)]
                box.retired = True
            finish = box.retired and box.users == 0
        if finish or broken:
            box.kill()

    def kill_lease(self, language: Language, tenant: str) -> None:
        """Kill ``tenant``'s sandbox now (its execution was cancelled mid-call)."""
        with self._mutex:
            box = self._leases.pop((language, tenant), None)
            if box is not None:
                box.retired = True
        if box is not None:
            box.stop()  # the call's thread reads EOF, then releases and closes it

    def _start_reaper(self) -> None:
        with self._mutex:
            if self._reaper is not None:
                return
            self._reaper = threading.Thread(
                target=self._reap, name="code-sandbox-reaper", daemon=True
            )
        self._reaper.start()

    def _reap(self) -> None:
        """Kill leases idle for longer than ``lease_idle_seconds`` (checked every few seconds)."""
        while True:
            time.sleep(min(5.0, _limits.lease_idle_seconds / 4))
            with self._mutex:
                dropped = self._expire(_limits)
            for box in dropped:
                box.kill()

    def refill(self, language: Language) -> None:
        """Start idle sandboxes in a background thread up to ``warm``."""
        with self._mutex:
            if language in self._filling or len(self._idle[language]) >= _limits.warm:
                return
            self._filling.add(language)
        threading.Thread(target=self._fill, args=(language,), daemon=True).start()

    def _fill(self, language: Language) -> None:
        try:
            while True:
                lim = _limits
                with self._mutex:
                    if len(self._idle[language]) >= lim.warm:
                        return
                try:
                    box = _Sandbox.start(language, lim)
                except (CodeSandboxError, ConfigurationError, OSError):
                    return
                except RuntimeError:  # the interpreter is exiting: its spawner takes no work
                    return
                with self._mutex:
                    if lim is _limits:
                        self._idle[language].append(box)
                        continue
                box.kill()
        finally:
            with self._mutex:
                self._filling.discard(language)


_SPAWNER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="code-sandbox-spawner")
_CALLS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="code-sandbox-call")
"""Threads that wait on sandboxes: the loop's default pool is small (CPUs + 4) and shared."""
_POOL = _Pool()
atexit.register(_POOL.reset)


def _after_fork_in_child() -> None:
    global _SPAWNER, _CALLS
    _POOL.forget()
    _SPAWNER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="code-sandbox-spawner")
    _CALLS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="code-sandbox-call")


os.register_at_fork(after_in_child=_after_fork_in_child)


def prewarm(language: Language) -> int:
    """Start idle sandboxes of ``language`` up to the ``warm`` limit now and wait for them;
    returns how many are idle (for a process that wants its first code call to be fast)."""
    while True:
        with _POOL._mutex:
            idle = len(_POOL._idle[language])
        if idle >= _limits.warm:
            return idle
        box = _Sandbox.start(language, _limits)
        with _POOL._mutex:
            _POOL._idle[language].append(box)


def shutdown() -> None:
    """Kill every sandbox (tests and process shutdown)."""
    _POOL.reset()


def _run_blocking(
    language: Language, tenant: str, code: str, items: list[Any], run_vars: Mapping[str, Any]
) -> CodeResult:
    lim = _limits
    request = {
        "code": code,
        "items": items,
        "vars": dict(run_vars),
        "max_output_bytes": lim.max_output_bytes,
    }
    try:
        data = json.dumps(request, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as err:
        raise CodeSandboxError(f"the items or vars are not JSON: {err}") from None
    box = _POOL.lease(language, tenant)
    broken = True
    try:
        with box.lock:
            answer = box.call(data)
        broken = False
    finally:
        _POOL.release(language, tenant, box, broken=broken)
    logs = str(answer.get("logs") or "")
    if not answer.get("ok"):
        line = answer.get("line")
        where = f" (line {line})" if isinstance(line, int) else ""
        raise CodeSandboxError(
            f"{answer.get('error', 'the code failed')}{where}",
            line=line if isinstance(line, int) else None,
            logs=logs,
        )
    result = answer.get("items")
    if not isinstance(result, list):
        raise CodeSandboxError("the sandbox answered without items")
    return CodeResult(items=result, logs=logs)


async def run_code(
    language: Language,
    code: str,
    items: list[Any],
    run_vars: Mapping[str, Any],
    *,
    tenant: str,
) -> CodeResult:
    """Run ``main(items, vars)`` of ``code`` in the sandbox leased to ``tenant``.

    Args:
        language: ``python`` or ``javascript``.
        code: The user's source; it defines ``main(items, vars)``.
        items: JSON objects passed as ``items``.
        run_vars: JSON object passed as ``vars``.
        tenant: Who the sandbox belongs to (workspace id + execution id): sandboxes are never
            shared between tenants.

    Raises:
        CodeSandboxError: the code raised (with its line), returned something other than a
            list of objects, or broke a limit.
        ConfigurationError: bubblewrap, libseccomp or the interpreter is missing.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(_run_blocking, language, tenant, code, items, run_vars)
    try:
        return await loop.run_in_executor(_CALLS, call)
    except asyncio.CancelledError:
        # the execution was cancelled (or timed out) mid-call: stop the code now rather than
        # at its wall-time limit
        _POOL.kill_lease(language, tenant)
        raise


def with_overrides(**changes: Any) -> CodeLimits:
    """The limits in force with some fields changed (for ``configure``)."""
    return replace(_limits, **changes)
