"""Errors of browser sign-in."""

from __future__ import annotations

from reporunner.nodes.errors import Problem, ReporunnerError, ValidationFailed

__all__ = ["LinkExpired", "RoleTooHigh", "WrongCredentials", "WrongCurrentPassword"]


class WrongCredentials(ReporunnerError):
    """The e-mail address or the password is wrong (never saying which)."""

    code = "wrong_credentials"
    status = 401


class LinkExpired(ReporunnerError):
    """A set-up or invitation link is past its expiry; ask for a new one."""

    code = "link_expired"
    status = 410


class RoleTooHigh(ReporunnerError):
    """A member tried to hand out a role above their own."""

    code = "role_too_high"
    status = 403


class WrongCurrentPassword(ValidationFailed):
    """A password change named the wrong current password (422 on ``/current_password``)."""

    def __init__(self) -> None:
        message = "the current password is wrong"
        super().__init__(
            f"current_password: {message}",
            [Problem("/current_password", "wrong_password", message)],
        )
