"""Browser sign-in: the owner's set-up link, passwords, sessions and invitations."""

from reporunner.platform.signin.errors import LinkExpired, RoleTooHigh, WrongCredentials
from reporunner.platform.signin.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationInfo,
    LoginBody,
    Me,
    MeUser,
    MeWorkspace,
    SetupBody,
    SetupInfo,
)
from reporunner.platform.signin.service import (
    accept_invitation,
    check_credentials,
    complete_setup,
    create_invitation,
    describe_invitation,
    describe_setup,
    me,
    normalize_email,
    normalize_password,
)

__all__ = [
    "InvitationAccept",
    "InvitationCreate",
    "InvitationCreated",
    "InvitationInfo",
    "LinkExpired",
    "LoginBody",
    "Me",
    "MeUser",
    "MeWorkspace",
    "RoleTooHigh",
    "SetupBody",
    "SetupInfo",
    "WrongCredentials",
    "accept_invitation",
    "check_credentials",
    "complete_setup",
    "create_invitation",
    "describe_invitation",
    "describe_setup",
    "me",
    "normalize_email",
    "normalize_password",
]
