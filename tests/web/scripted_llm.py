"""The scripted LLM provider inside a served process, planned from the test process.

The browser tests drive a real ``reporunner serve`` subprocess (and its worker processes), so
the in-process :func:`reporunner.agents.testing.scripted_llm` cannot be planned from a test
directly. Instead:

* the test process runs a :class:`ScriptServer` (a tiny HTTP server on 127.0.0.1) holding the
  plan: ``script.plan(Reply("hello"), Stream(["a", "b"]))``;
* the served processes get ``tests/web/llm_site`` and ``tests/web`` on ``PYTHONPATH`` and
  ``REPORUNNER_TEST_LLM_SCRIPT=<the server's URL>`` (see :meth:`ScriptServer.env`);
  ``llm_site/sitecustomize.py`` runs at interpreter start-up and calls :func:`install`, which
  registers a :class:`~reporunner.agents.testing.ScriptedLLM` as litellm's ``scripted``
  provider whose every step is fetched from the script server (``POST /next``);
* so ``REPORUNNER_LLM_MODEL=scripted/web`` (or an agent's ``model: scripted/...``) answers from
  the plan through the real litellm code path, in the API process and in every worker process.

Steps cross the process boundary as JSON: :class:`Reply`, :class:`Stream` (text pieces and
tool calls), :class:`Fail` and :class:`Hang`. A call with nothing planned fails with a
``BadRequestError`` naming the call, like the in-process provider. ``script.requests`` records
what each call sent (model, messages, offered tool names, stream) for assertions.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from reporunner.agents.testing import Fail, Hang, PlannedToolCall, Reply, Stream, tool_call

__all__ = [
    "ENV_VAR",
    "Fail",
    "Hang",
    "Reply",
    "ScriptServer",
    "Stream",
    "decode_step",
    "encode_step",
    "install",
    "tool_call",
]

ENV_VAR = "REPORUNNER_TEST_LLM_SCRIPT"
HERE = Path(__file__).resolve().parent
SITE = HERE / "llm_site"

RemoteStep = Reply | Stream | Fail | Hang
PATIENCE_SECONDS = 100.0
"""How long a patient script server holds a call with nothing planned (below the served
process's 120 s read timeout)."""


def _call_json(call: PlannedToolCall) -> dict[str, Any]:
    args = call.arguments if isinstance(call.arguments, str) else dict(call.arguments)
    return {"name": call.name, "arguments": args, "id": call.id}


def _call(data: dict[str, Any]) -> PlannedToolCall:
    return tool_call(str(data["name"]), data.get("arguments") or {}, str(data.get("id") or ""))


def encode_step(step: RemoteStep) -> dict[str, Any]:
    """The JSON form of a planned step."""
    if isinstance(step, Reply):
        return {
            "kind": "reply",
            "text": step.text,
            "tool_calls": [_call_json(c) for c in step.tool_calls],
            "prompt_tokens": step.prompt_tokens,
            "completion_tokens": step.completion_tokens,
        }
    if isinstance(step, Stream):
        return {
            "kind": "stream",
            "chunks": [c if isinstance(c, str) else _call_json(c) for c in step.chunks],
            "prompt_tokens": step.prompt_tokens,
            "completion_tokens": step.completion_tokens,
        }
    if isinstance(step, Fail):
        return {
            "kind": "fail",
            "status": step.status,
            "message": step.message,
            "retry_after": step.retry_after,
        }
    if isinstance(step, Hang):
        return {"kind": "hang"}
    raise TypeError(f"cannot send {step!r} to a served process (Reply, Stream, Fail, Hang)")


def decode_step(data: dict[str, Any]) -> RemoteStep:
    """A planned step from its JSON form."""
    kind = data.get("kind")
    if kind == "reply":
        return Reply(
            data.get("text"),
            [_call(c) for c in data.get("tool_calls") or []],
            int(data.get("prompt_tokens", 10)),
            int(data.get("completion_tokens", 5)),
        )
    if kind == "stream":
        chunks = [c if isinstance(c, str) else _call(c) for c in data.get("chunks") or []]
        return Stream(
            chunks, int(data.get("prompt_tokens", 10)), int(data.get("completion_tokens", 5))
        )
    if kind == "fail":
        return Fail(int(data["status"]), str(data.get("message") or ""), data.get("retry_after"))
    if kind == "hang":
        return Hang()
    raise ValueError(f"unknown scripted step kind {kind!r}")


class ScriptServer:
    """The plan of the served processes' scripted LLM (an HTTP server in a thread).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, *, patient: bool = False) -> None:
        self._plan: deque[RemoteStep] = deque()
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.served = threading.Condition(self._lock)
        self.patient = patient
        """A call with nothing planned waits up to :data:`PATIENCE_SECONDS` for a step (the
        turn is "thinking" until the test plans it) instead of failing at once. The served
        process waits in a blocking read, its event loop with it: events it has not sent yet
        stay unsent until the step is planned, so plan on a request count
        (:meth:`wait_requests`), never on an event the held process has to send."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    owner.requests.append(request)
                    owner.served.notify_all()
                    if owner.patient:  # wait (bounded) for the test to plan this call's step
                        owner.served.wait_for(lambda: bool(owner._plan), PATIENCE_SECONDS)
                    step = owner._plan.popleft() if owner._plan else None
                    owner.served.notify_all()
                if step is None:
                    body = {"error": f"no planned answer left for call #{len(owner.requests)}"}
                    status = 409
                else:
                    body, status = encode_step(step), 200
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Where the served processes fetch their steps."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self, pythonpath: str = "") -> dict[str, str]:
        """Environment variables that make a served process answer from this plan."""
        parts = [str(SITE), str(HERE), *([pythonpath] if pythonpath else [])]
        return {"PYTHONPATH": ":".join(parts), ENV_VAR: self.url}

    def plan(self, *steps: RemoteStep) -> ScriptServer:
        """Append steps (consumed one per LLM call, in order, by any served process)."""
        for step in steps:
            encode_step(step)  # refuse what cannot cross now, not at the call
        with self._lock:
            self._plan.extend(steps)
            self.served.notify_all()
        return self

    def reset(self) -> None:
        """Drop what is left of the plan and the recorded requests."""
        with self._lock:
            self._plan.clear()
            self.requests.clear()

    @property
    def remaining(self) -> int:
        """Steps not consumed yet."""
        with self._lock:
            return len(self._plan)

    def wait_consumed(self, timeout: float = 30) -> bool:
        """Wait until every planned step was taken (True) or the deadline passed (False)."""
        with self._lock:
            return self.served.wait_for(lambda: not self._plan, timeout)

    def wait_requests(self, count: int, timeout: float = 60) -> bool:
        """Wait until ``count`` calls arrived (True) or the deadline passed (False)."""
        with self._lock:
            return self.served.wait_for(lambda: len(self.requests) >= count, timeout)

    def close(self) -> None:
        """Stop the HTTP server."""
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> ScriptServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.requests))


def install(url: str, provider: str = "scripted") -> None:
    """Register the ``scripted`` litellm provider answering from the script server at ``url``
    (called in each served process by ``llm_site/sitecustomize.py``)."""
    import urllib.error
    import urllib.request

    from reporunner.agents.llm import _litellm
    from reporunner.agents.testing import ScriptedLLM, ScriptedRequest

    def fetch(request: ScriptedRequest) -> RemoteStep:
        sent = {
            "model": request.model,
            "messages": request.messages,
            "tools": request.tool_names,
            "stream": request.stream,
        }
        req = urllib.request.Request(
            url.rstrip("/") + "/next",
            data=json.dumps(sent, default=str).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as res:
                return decode_step(json.loads(res.read()))
        except urllib.error.HTTPError as err:
            detail = json.loads(err.read() or b"{}").get("error") or str(err)
            raise AssertionError(f"scripted LLM: {detail}; plan more steps") from err

    class RemoteScriptedLLM(ScriptedLLM):
        """Every call's step comes from the script server."""

        def _next(self, *args: Any, **kwargs: Any) -> Any:
            if not self._plan:
                self._plan.append(fetch)
            return super()._next(*args, **kwargs)

    lib: Any = _litellm.litellm()  # Any: litellm's settings are plain module attributes
    handler = RemoteScriptedLLM(provider)
    others = [p for p in lib.custom_provider_map if p["provider"] != provider]
    lib.custom_provider_map = [*others, {"provider": provider, "custom_handler": handler}]
