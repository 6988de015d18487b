"""Log redaction: keep credential values out of every log line, even when a node leaks them.

Credential models already mask themselves (``SecretStr``), but a node may still log a value it
read with ``get_secret_value()``, or an exception from a library may quote it. The engine
therefore gives each node run a logger that redacts the secrets of the credentials bound to it:

* :class:`RedactingLoggerAdapter` wraps a logger for one node run (nothing to clean up);
* :class:`RedactingFilter` does the same on a handler (or on a logger, for records logged
  directly to it; filters on a logger do not see records propagated from its children).

Both rewrite the formatted message, the exception text and the stack text.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

__all__ = ["MASK", "RedactingFilter", "RedactingLoggerAdapter", "redact"]

MASK = "**********"


def _normalise(secrets: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({s for s in secrets if s}, key=lambda s: (-len(s), s)))


def redact(text: str, secrets: Iterable[str], mask: str = MASK) -> str:
    """Replace every occurrence of each secret in ``text`` by ``mask`` (longest first, so a
    secret that contains another is masked whole)."""
    for secret in _normalise(secrets):
        text = text.replace(secret, mask)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that masks the given secret values in each record it sees.

    Args:
        secrets: Values to mask (e.g. ``secret_values(credential)``); empty ones are ignored.
        mask: Replacement text.
    """

    def __init__(self, secrets: Iterable[str], mask: str = MASK) -> None:
        super().__init__()
        self._secrets = _normalise(secrets)
        self._mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        record.msg = redact(message, self._secrets, self._mask)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets, self._mask)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets, self._mask)
        return True


class RedactingLoggerAdapter(logging.LoggerAdapter[logging.Logger]):
    """Logger adapter for one node run: adds ``extra`` and masks ``secrets`` in every record.

    The message is formatted and masked before it reaches the logger, and an exception
    (``exc_info``) is rendered to masked text, so no handler ever sees a secret.
    """

    def __init__(
        self,
        logger: logging.Logger,
        secrets: Iterable[str],
        extra: Mapping[str, object] | None = None,
        mask: str = MASK,
    ) -> None:
        super().__init__(logger, extra or {})
        self._secrets = _normalise(secrets)
        self._mask = mask

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        merged = {**(self.extra or {}), **kwargs.get("extra", {})}
        kwargs["extra"] = merged
        return msg, kwargs

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        exc_info = kwargs.pop("exc_info", None)
        if exc_info:
            if exc_info is True or not isinstance(exc_info, BaseException | tuple):
                exc_info = sys.exc_info()
            if isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            if exc_info[0] is not None:
                text += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip()
        text = redact(text, self._secrets, self._mask)
        text, kwargs = self.process(text, kwargs)
        self.logger.log(level, text, **kwargs)
