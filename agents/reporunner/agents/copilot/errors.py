"""Errors of the copilot, all 422s carrying the problems that were left."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reporunner.nodes.errors import Problem, ValidationFailed

__all__ = ["CopilotFailed", "PatchFailed"]


class CopilotFailed(ValidationFailed):
    """The model did not produce a valid workflow within the repair rounds.

    ``problems`` are the validator's problems of the model's last answer (JSON pointers into
    that answer), ``attempts`` how many answers were tried; the invalid definition itself is
    never returned as a result, only attached as ``last_definition`` for debugging.
    """

    code = "copilot_failed"

    def __init__(
        self,
        detail: str,
        problems: Sequence[Problem] = (),
        *,
        attempts: int = 0,
        last_definition: Any = None,
    ) -> None:
        super().__init__(detail, problems)
        self.extra["attempts"] = attempts
        self.attempts = attempts
        self.last_definition = last_definition


class PatchFailed(ValidationFailed):
    """A JSON Patch (RFC 6902) does not apply to the document it was written against."""

    code = "invalid_patch"
