"""One exception hierarchy for all of reporunner.

Every error carries a stable ``code`` (used in problem+json ``type`` URIs and logs) and an
HTTP ``status`` the API maps it to. Messages say what to fix. The hierarchy lives in the lowest
layer (``nodes``) so that every other part can raise and catch the same types.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "CredentialError",
    "ExpressionError",
    "NodeError",
    "NotFoundError",
    "Problem",
    "ReporunnerError",
    "SSRFBlockedError",
    "UnknownNodeType",
    "ValidationFailed",
    "parse_id",
]


class ReporunnerError(Exception):
    """Base of every error reporunner raises on purpose.

    Attributes:
        code: Stable machine-readable identifier, e.g. ``unknown_node_type``.
        status: HTTP status the API answers with when this error reaches it.
        detail: Human sentence that says what went wrong and what to fix.
        extra: Additional JSON-safe members for the problem+json body.
    """

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class ConfigurationError(ReporunnerError):
    """A setting is missing or invalid; the message names the variable."""

    code = "configuration_error"
    status = 500


class NotFoundError(ReporunnerError):
    """The resource does not exist (or belongs to another workspace)."""

    code = "not_found"
    status = 404


def parse_id(value: uuid.UUID | str, what: str = "id") -> uuid.UUID:
    """``value`` as a UUID, for an id that names a resource.

    A malformed id cannot name anything, so it gets the answer a well-formed id of another
    workspace gets: not found (404), never a 500 from a failed cast.

    Raises:
        NotFoundError: ``value`` is not a UUID.
    """
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFoundError(f"{what} '{value}' does not exist (ids are UUIDs)") from None


class ConflictError(ReporunnerError):
    """The request conflicts with the current state (duplicate name, wrong status...)."""

    code = "conflict"
    status = 409


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, the one shape of every validation problem.

    The workflow validator, the expression checker, the copilot's repair loop and every
    service that refuses a body report problems as these; :class:`ValidationFailed` carries
    them and the API shows each as ``{"pointer", "code", "message"}``.

    Attributes:
        pointer: JSON pointer into the input (``/nodes/2/params/url``; ``""`` = the root).
        code: Stable machine-readable kind, e.g. ``unknown_port``.
        message: Sentence that says what is wrong and what to fix.
    """

    pointer: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """JSON form for problem+json bodies."""
        return asdict(self)


class ValidationFailed(ReporunnerError):
    """Input failed validation; it lists every problem with a JSON pointer.

    Attributes:
        problems: The problems in their JSON form (as the API body lists them).
    """

    code = "validation_failed"
    status = 422

    def __init__(self, detail: str, problems: Sequence[Problem] = ()) -> None:
        listed = [p.as_dict() for p in problems]
        super().__init__(detail, problems=listed)
        self.problems: list[dict[str, str]] = listed


class UnknownNodeType(ReporunnerError):
    """A definition names a node type (or version) the registry does not hold."""

    code = "unknown_node_type"
    status = 422


class ExpressionError(ReporunnerError):
    """An ``{{ ... }}`` expression failed to parse or to render."""

    code = "expression_error"
    status = 422


class CredentialError(ReporunnerError):
    """A node asked for a credential it was not given, or of the wrong type."""

    code = "credential_error"
    status = 422


class SSRFBlockedError(ReporunnerError):
    """An outbound request targeted an address the SSRF guard refuses."""

    code = "ssrf_blocked"
    status = 422


class NodeError(ReporunnerError):
    """A node failed while running. ``retryable`` tells the engine whether a retry may help."""

    code = "node_error"
    status = 500

    def __init__(self, detail: str, *, retryable: bool = False, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retryable = retryable
