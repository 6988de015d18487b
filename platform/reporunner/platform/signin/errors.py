"""Errors of browser sign-in."""

from __future__ import annotations

from reporunner.nodes.errors import Problem, ReporunnerError, ValidationFailed

__all__ = [
    "LinkExpired",
    "RoleTooHigh",
    "SecondFactorEnrolmentRequired",
    "SecondFactorRequired",
    "WrongCredentials",
    "WrongCurrentPassword",
    "WrongSecondFactor",
]


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


class SecondFactorRequired(ReporunnerError):
    """The password was right; the account also needs its authentication code."""

    code = "second_factor_required"
    status = 401


class WrongSecondFactor(ReporunnerError):
    """The authentication code or recovery code is wrong, or was used already."""

    code = "wrong_second_factor"
    status = 401


class SecondFactorEnrolmentRequired(ReporunnerError):
    """The instance requires two-factor authentication and this password session has none."""

    code = "second_factor_enrolment_required"
    status = 403
