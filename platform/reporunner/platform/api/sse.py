"""Server-Sent Events responses whose stream is closed when the response ends, however it ends.

Litestar iterates a stream's generator but never closes it: when the client goes away while the
generator waits at a ``yield``, the generator (and the Redis subscription, connection or turn
lock it holds) is left to the garbage collector, which finalises it some time later, or warns
about an unclosed connection. The response's background task closes it as soon as the response
is over. Generators that hold such resources also shield their clean-up (see
:func:`reporunner.platform.knowledge.events.follow_base`), because a client that hangs up while
the generator awaits cancels it, and cancellation keeps interrupting every further ``await``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar.background_tasks import BackgroundTask
from litestar.response import ServerSentEvent, ServerSentEventMessage

__all__ = ["closing_event_stream"]


def closing_event_stream(
    stream: AsyncGenerator[ServerSentEventMessage, None],
) -> ServerSentEvent:
    """``stream`` as a Server-Sent Events response that closes it when the response ends."""
    return ServerSentEvent(stream, background=BackgroundTask(stream.aclose))
