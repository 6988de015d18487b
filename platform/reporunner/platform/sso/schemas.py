"""API bodies of ``/sso/providers`` (instance admins) and ``/auth/sso`` (the sign-in page)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from reporunner.platform.identity.schemas import RoleName

__all__ = [
    "OidcProviderCreate",
    "OidcProviderOut",
    "RoleRule",
    "SsoInfo",
    "SsoProviderPublic",
    "SsoSettings",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class RoleRule(_In):
    claim_value: str = Field(
        min_length=1, max_length=200,
        description="A value of the provider's role claim (e.g. a group name).",
    )  # fmt: skip
    workspace: str = Field(
        min_length=1, max_length=64, description="Slug of the workspace this value grants."
    )
    role: RoleName = Field(description="The role it grants there.")


class SsoSettings(_In):
    """Who gets into which workspace (stored with the provider)."""

    role_claim: str | None = Field(
        default=None, min_length=1, max_length=100,
        description="ID token claim (a string or a list of strings, e.g. 'groups') matched "
        "against role_rules at every sign-in; null: no mapping.",
    )  # fmt: skip
    role_rules: list[RoleRule] = Field(
        default_factory=list, max_length=100,
        description="Claim value -> workspace role; at each sign-in a matching rule sets the "
        "user's role in its workspace (the highest when several match).",
    )  # fmt: skip
    default_workspace: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="Slug of the workspace a user joins when no rule matched and they belong "
        "to none; null: such users are refused (403 sso_no_workspace).",
    )  # fmt: skip
    default_role: RoleName = Field(default="viewer", description="Their role in default_workspace.")


class OidcProviderCreate(SsoSettings):
    slug: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="URL name of the provider: the callback is /auth/sso/{slug}/callback.",
    )
    name: str = Field(min_length=1, max_length=200, description="Shown on the sign-in button.")
    issuer: str = Field(
        min_length=8, max_length=2000, pattern=r"^https?://",
        description="The provider's issuer URL; {issuer}/.well-known/openid-configuration is "
        "fetched (through the SSRF guard: private hosts need REPORUNNER_OIDC_ALLOW_HOSTS).",
    )  # fmt: skip
    client_id: str = Field(min_length=1, max_length=500, description="OAuth client id.")
    client_secret: SecretStr = Field(
        min_length=1, max_length=2000,
        description="OAuth client secret (sealed with the vault key; never returned).",
    )  # fmt: skip
    scopes: str = Field(
        default="openid email profile", max_length=500,
        description="Space-separated scopes to ask for; must include 'openid'.",
    )  # fmt: skip
    enabled: bool = Field(default=True, description="False hides it from the sign-in page.")

    @field_validator("scopes")
    @classmethod
    def _has_openid(cls, value: str) -> str:
        if "openid" not in value.split():
            raise ValueError("must include 'openid'")
        return " ".join(value.split())


class OidcProviderOut(SsoSettings):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="Provider id.")
    slug: str = Field(description="URL name of the provider.")
    name: str = Field(description="Shown on the sign-in button.")
    issuer: str = Field(description="Issuer URL.")
    client_id: str = Field(description="OAuth client id (the secret is never returned).")
    scopes: str = Field(description="Scopes asked for.")
    enabled: bool = Field(description="Shown on the sign-in page.")
    redirect_path: str = Field(
        description="Path of the callback to register with the provider (after this "
        "instance's public base URL)."
    )
    created_at: datetime = Field(description="When it was configured.")


class SsoProviderPublic(BaseModel):
    slug: str = Field(description="URL name of the provider.")
    name: str = Field(description="Shown on the sign-in button.")
    start_url: str = Field(description="Where the sign-in button goes (GET).")


class SsoInfo(BaseModel):
    providers: list[SsoProviderPublic] = Field(description="Enabled SSO providers.")
    password_signin: bool = Field(description="False when only SSO signs in.")
