"""Local peers for the action-node tests: a scripted HTTP server on 127.0.0.1.

Imported by basename from the tests in this folder (pytest puts the folder on ``sys.path``).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from reporunner.nodes.ssrf import SSRFPolicy, guarded_client
from reporunner.nodes.testing import NodeTestContext


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What the server answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Seen], Reply]


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that time out or refuse a redirect hang up early; that is expected here."""


class LocalHTTPServer:
    """Threaded HTTP/1.0 server; ``route(seen) -> Reply`` answers every request."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.seen: list[Seen] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                outer.seen.append(seen)
                reply = outer.route(seen)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


def guarded_ctx(**kwargs: object) -> NodeTestContext:
    """A test context whose HTTP client is the SSRF-guarded one, allowing only 127.0.0.1."""
    client = guarded_client(SSRFPolicy(allow_hosts=("127.0.0.1",)))
    return NodeTestContext(http_client=client, **kwargs)  # type: ignore[arg-type]
