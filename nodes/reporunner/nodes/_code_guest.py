"""The Python side of a ``code.python`` sandbox (runs *inside* bubblewrap, never in the worker).

The host (:mod:`reporunner.nodes.codesandbox`) starts ``python3 -I -S -c <this file's text>``
inside the sandbox and talks to it over stdin/stdout in frames: a 4-byte big-endian length, then
that many bytes of UTF-8 JSON. Each request ``{"code", "items", "vars", "max_output_bytes"}`` is
answered by ``{"ok": true, "items", "logs"}`` or ``{"ok": false, "error", "line", "logs"}``.

The user's code is compiled under the file name ``<code>`` so the line of an error is the
user's own line. It must define ``main(items, vars)``, which returns a list of JSON objects (a
single object is taken as a one-item list). ``print`` goes to ``logs`` (bounded). Nothing here
is a security boundary: the namespaces, seccomp filter and rlimits around this process are.
This module imports only the standard library.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import shutil
import sys
import traceback
from typing import Any

_SCRATCH = "/scratch"
_MAX_LOG_CHARS = 64_000
_FILE = "<code>"


class _Logs(io.TextIOBase):
    """``sys.stdout`` during a call: keeps the first ``_MAX_LOG_CHARS`` characters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        room = _MAX_LOG_CHARS - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        return len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _read_exact(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _send(fd: int, message: dict[str, Any]) -> None:
    raw = {k: v for k, v in message.items() if isinstance(v, _Raw)}
    rest = {k: v for k, v in message.items() if k not in raw}
    text = json.dumps(rest, ensure_ascii=False, allow_nan=False)
    for key, value in raw.items():
        text = f"{text[:-1]}, {json.dumps(key)}: {value}}}"
    data = text.encode()
    os.write(fd, len(data).to_bytes(4, "big"))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _user_line(err: BaseException) -> int | None:
    if isinstance(err, SyntaxError) and err.filename == _FILE:
        return err.lineno
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == _FILE:
            line = frame.lineno
    return line


def _clear_scratch() -> None:
    for name in os.listdir(_SCRATCH):
        path = os.path.join(_SCRATCH, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _items(result: Any) -> list[Any]:
    if isinstance(result, dict):
        return [result]
    if not isinstance(result, list) or not all(isinstance(i, dict) for i in result):
        raise TypeError(
            f"main() must return a list of objects (dicts), not {type(result).__name__}"
        )
    return result


def _call(request: dict[str, Any]) -> dict[str, Any]:
    logs = _Logs()
    sys.stdout = logs
    sys.stderr = logs
    try:
        _clear_scratch()
        os.chdir(_SCRATCH)
        namespace: dict[str, Any] = {"__name__": "__code__", "__builtins__": builtins}
        exec(compile(request["code"], _FILE, "exec"), namespace)
        main = namespace.get("main")
        if not callable(main):
            return {"ok": False, "error": "the code must define a function main(items, vars)"}
        items = _items(main(request["items"], request["vars"]))
        data = json.dumps(items, ensure_ascii=False, allow_nan=False)
    except BaseException as err:
        message = f"{type(err).__name__}: {err}"
        if isinstance(err, SyntaxError):
            message = f"{type(err).__name__}: {err.msg}"
        if isinstance(err, RecursionError | MemoryError):
            message = f"{type(err).__name__}: the code ran out of stack or memory"
        return {"ok": False, "error": message, "line": _user_line(err), "logs": logs.text()}
    finally:
        sys.stdout = sys.__stdout__
        sys.stderr = sys.__stderr__
    size = len(data.encode())
    if size > request["max_output_bytes"]:
        return {
            "ok": False,
            "error": f"the output is {size} bytes, over the limit of "
            f"{request['max_output_bytes']} bytes",
            "logs": logs.text(),
        }
    return {"ok": True, "items": _Raw(data), "logs": logs.text()}


class _Raw(str):
    """JSON text already encoded (spliced into the answer as it is)."""


def serve() -> None:
    """Answer requests until the host closes stdin."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    _send(proto_out, {"ok": True, "ready": True})
    while True:
        try:
            size = int.from_bytes(_read_exact(proto_in, 4), "big")
            request = json.loads(_read_exact(proto_in, size))
        except EOFError:
            return
        _send(proto_out, _call(request))


if __name__ == "__main__":
    serve()
