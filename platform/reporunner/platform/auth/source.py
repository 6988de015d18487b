"""Where auth opens its database sessions: a protocol, so auth never names ``Resources``."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ["SessionSource"]


class SessionSource(Protocol):
    """Where key and cookie authentication open their session (``Resources`` is one).

    A protocol rather than ``Resources`` itself: ``resources`` holds the vault's keyring and
    the vault records the acting principal, so auth naming ``resources`` would close a circle.
    """

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The session factory."""
        ...
