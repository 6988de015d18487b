"""API bodies of ``/auth/*`` and ``/workspace/invitations``."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from reporunner.platform.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from reporunner.platform.identity.schemas import RoleName

__all__ = [
    "InvitationAccept",
    "InvitationCreate",
    "InvitationCreated",
    "InvitationInfo",
    "InvitationOut",
    "LoginBody",
    "Me",
    "MeUser",
    "MeWorkspace",
    "PasswordChange",
    "SessionOut",
    "SetupBody",
    "SetupInfo",
    "TotpConfirm",
    "TotpConfirmed",
    "TotpDisable",
    "TotpEnrolment",
    "TotpStatus",
]

_EMAIL = r"^[^@\s]+@[^@\s]+$"
_CODE = r"^[0-9]{6}$"
_PASSWORD_HELP = (
    f"At least {MIN_PASSWORD_LENGTH} and at most {MAX_PASSWORD_LENGTH} characters; any "
    "characters, spaces included."
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeUser(BaseModel):
    id: uuid.UUID = Field(description="User id.")
    email: str = Field(description="E-mail address (lower case) the user signs in with.")
    name: str = Field(description="Display name.")


class MeWorkspace(BaseModel):
    id: uuid.UUID = Field(description="Workspace id.")
    slug: str = Field(description="URL name of the workspace.")
    name: str = Field(description="Display name.")


class Me(BaseModel):
    user: MeUser = Field(description="Who is signed in.")
    workspace: MeWorkspace = Field(description="The workspace the session (or key) acts in.")
    role: RoleName = Field(description="The user's role in that workspace.")
    csrf_token: str | None = Field(
        description="Send as the X-CSRF-Token header with every POST/PUT/PATCH/DELETE made with "
        "the session cookie (null when the request used an API key)."
    )
    must_enrol_second_factor: bool = Field(
        default=False,
        description="True when the instance requires two-factor authentication and this "
        "password session has none yet: only /auth/me, /auth/totp/* and /auth/logout answer "
        "until it is set up.",
    )


class SetupInfo(BaseModel):
    workspace: MeWorkspace = Field(description="The workspace the link sets up.")
    expires_at: datetime = Field(description="When the link stops working.")


class SetupBody(_In):
    token: str = Field(min_length=1, max_length=200, description="The token of the set-up link.")
    email: str = Field(
        min_length=3, max_length=320, pattern=_EMAIL,
        description="The owner's e-mail address, used to sign in.",
    )  # fmt: skip
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH,
        description=_PASSWORD_HELP,
    )  # fmt: skip
    name: str = Field(default="", max_length=200, description="Display name (optional).")


class LoginBody(_In):
    email: str = Field(min_length=1, max_length=320, description="E-mail address.")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH, description="Password.")
    totp_code: str | None = Field(
        default=None, pattern=_CODE,
        description="The 6-digit code of the authenticator app (accounts with two-factor "
        "authentication; sign-in answers 401 second_factor_required without it).",
    )  # fmt: skip
    recovery_code: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="One of the recovery codes, instead of totp_code (each works once).",
    )  # fmt: skip


class InvitationCreate(_In):
    email: str = Field(
        min_length=3, max_length=320, pattern=_EMAIL,
        description="E-mail address of the person to invite (a new one, or an account that is "
        "not a member of this workspace yet).",
    )  # fmt: skip
    role: RoleName = Field(
        default="viewer", description="Role they get; not above the inviter's own role."
    )


class InvitationCreated(BaseModel):
    id: uuid.UUID = Field(description="Invitation id.")
    email: str = Field(description="Who is invited.")
    role: RoleName = Field(description="The role they will get.")
    url: str = Field(description="The invitation link to send them (shown this once).")
    expires_at: datetime = Field(description="When the link stops working.")


class InvitationOut(BaseModel):
    id: uuid.UUID = Field(description="Invitation id (used to revoke it).")
    email: str = Field(description="Who is invited.")
    role: RoleName = Field(description="The role they will get.")
    created_at: datetime = Field(description="When it was made.")
    created_by_user_id: uuid.UUID | None = Field(description="Who made it.")
    expires_at: datetime = Field(description="When the link stops working.")
    expired: bool = Field(description="True once the link has expired (it can only be revoked).")


class InvitationInfo(BaseModel):
    email: str = Field(description="Who is invited.")
    role: RoleName = Field(description="The role they will get.")
    workspace: MeWorkspace = Field(description="The workspace they are invited to.")
    expires_at: datetime = Field(description="When the link stops working.")
    existing_account: bool = Field(
        default=False,
        description="True when the address already has an account: accepting asks for its "
        "current password (unchanged) instead of a new one.",
    )


class InvitationAccept(_In):
    """A new address chooses its password; an existing account confirms with its own."""

    token: str = Field(min_length=1, max_length=200, description="The invitation link's token.")
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH,
        description=_PASSWORD_HELP,
    )  # fmt: skip
    name: str = Field(default="", max_length=200, description="Display name (optional).")


class PasswordChange(_In):
    current_password: str = Field(
        min_length=1, max_length=MAX_PASSWORD_LENGTH,
        description="The password the user signs in with now.",
    )  # fmt: skip
    new_password: str = Field(
        min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH,
        description=_PASSWORD_HELP,
    )  # fmt: skip


class SessionOut(BaseModel):
    id: uuid.UUID = Field(description="Session id (revoke with DELETE /auth/sessions/{id}).")
    created_at: datetime = Field(description="When the browser signed in.")
    last_seen_at: datetime = Field(description="Its last request (to the minute).")
    expires_at: datetime = Field(description="When it ends at the latest.")
    ip: str = Field(description="The address it signed in from.")
    user_agent: str = Field(description="The browser's User-Agent at sign-in.")
    current: bool = Field(description="True for the session making this request.")


class TotpStatus(BaseModel):
    enabled: bool = Field(description="True once two-factor authentication is on.")
    enabled_at: datetime | None = Field(description="When it was turned on.")
    recovery_codes_left: int = Field(description="Unused recovery codes.")
    required: bool = Field(description="True when the instance requires it of password users.")


class TotpEnrolment(BaseModel):
    secret: str = Field(description="The base32 secret (shown this once), to type by hand.")
    otpauth_uri: str = Field(description="The otpauth:// URI the QR code holds.")
    qr_svg: str = Field(description="The QR code of otpauth_uri as an SVG document.")


class TotpConfirm(_In):
    code: str = Field(pattern=_CODE, description="The current 6-digit code of the app.")


class TotpConfirmed(BaseModel):
    recovery_codes: list[str] = Field(
        description="Single-use recovery codes for when the phone is lost (shown this once)."
    )


class TotpDisable(_In):
    code: str = Field(
        min_length=6, max_length=64,
        description="A current 6-digit code, or one of the recovery codes.",
    )  # fmt: skip
