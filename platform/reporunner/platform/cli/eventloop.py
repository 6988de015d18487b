"""The event loop of the long-running commands (``serve``, ``worker``): uvloop where it exists.

uvloop's loop (libuv) schedules callbacks and reads sockets with less Python per event than
asyncio's default loop, which is most of what the API and the workers do per execution; uvicorn
parses HTTP with httptools when it is installed. Both are dependencies; on a platform without
uvloop (Windows) the default loop runs instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it builds
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on uvloop's loop when available."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(main)
