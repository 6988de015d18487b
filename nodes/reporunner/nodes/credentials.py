"""Credential types: the shapes of the secrets nodes use, with every secret field masked.

Secrets are pydantic ``SecretStr`` fields, so ``repr``, ``str``, ``model_dump_json`` and
validation errors show ``**********`` instead of the value (``hide_input_in_errors`` keeps a
bad value out of error messages too). A node reads the value explicitly with
``cred.token.get_secret_value()`` right where it is used. :func:`secret_values` lists every
secret of a credential so that the engine can redact them from logs
(:class:`reporunner.nodes.logging.RedactingFilter`).

The vault in ``reporunner.platform`` stores credentials encrypted and validates them with
:func:`get_credential_type`; nodes fetch them with ``ctx.credential("<type name>")``.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, SecretStr

from reporunner.nodes.errors import CredentialError

__all__ = [
    "CREDENTIAL_TYPES",
    "ApiKeyCredential",
    "BasicAuthCredential",
    "BearerTokenCredential",
    "CredentialModel",
    "HmacSecretCredential",
    "OAuth2ClientCredentials",
    "PostgresDsnCredential",
    "RedisUrlCredential",
    "SmtpCredential",
    "WebhookUrlCredential",
    "get_credential_type",
    "secret_values",
]

_CONNINFO_PASSWORD = re.compile(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


class CredentialModel(BaseModel):
    """Base of every credential type.

    Attributes:
        type_name: Name nodes and the vault use for this type (``bearer_token``...).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    type_name: ClassVar[str]
    display_name: ClassVar[str]


class ApiKeyCredential(CredentialModel):
    """A static API key sent in a header or a query parameter."""

    type_name = "api_key"
    display_name = "API key"

    api_key: SecretStr = Field(description="The API key.")
    location: Literal["header", "query"] = Field(
        default="header", description="Send the key in a request header or a query parameter."
    )
    name: str = Field(
        default="X-API-Key", description="Header or query parameter name carrying the key."
    )
    prefix: str = Field(
        default="", description="Text put before the key, e.g. 'Token ' for 'Token <key>'."
    )


class BearerTokenCredential(CredentialModel):
    """A token sent as ``Authorization: Bearer <token>``."""

    type_name = "bearer_token"
    display_name = "Bearer token"

    token: SecretStr = Field(description="The bearer token (without the 'Bearer ' prefix).")


class BasicAuthCredential(CredentialModel):
    """HTTP basic authentication."""

    type_name = "basic_auth"
    display_name = "Basic auth"

    username: str = Field(description="User name.")
    password: SecretStr = Field(description="Password.")


class OAuth2ClientCredentials(CredentialModel):
    """OAuth 2.0 client-credentials grant: the node exchanges id + secret for an access token."""

    type_name = "oauth2_client_credentials"
    display_name = "OAuth2 client credentials"

    token_url: str = Field(description="Token endpoint URL (https://...).")
    client_id: str = Field(description="OAuth2 client id.")
    client_secret: SecretStr = Field(description="OAuth2 client secret.")
    scope: str | None = Field(default=None, description="Space-separated scopes to request.")
    audience: str | None = Field(default=None, description="Audience parameter, if required.")
    auth_method: Literal["client_secret_basic", "client_secret_post"] = Field(
        default="client_secret_basic",
        description="Send id and secret as HTTP basic auth or in the form body.",
    )


class SmtpCredential(CredentialModel):
    """An SMTP server account for sending email."""

    type_name = "smtp"
    display_name = "SMTP account"

    host: str = Field(description="SMTP server host name.")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    username: str | None = Field(default=None, description="Login user (None: no login).")
    password: SecretStr | None = Field(default=None, description="Login password.")
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="'starttls' upgrades a plain connection, 'tls' connects with TLS (port "
        "465), 'none' sends in clear text (local relays only).",
    )
    from_address: str | None = Field(
        default=None, description="Default sender address when the node does not set one."
    )


class PostgresDsnCredential(CredentialModel):
    """A PostgreSQL connection string (URL or libpq key=value form)."""

    type_name = "postgres_dsn"
    display_name = "PostgreSQL connection"

    dsn: SecretStr = Field(
        description="postgresql://user:password@host:5432/db or 'host=... dbname=...'."
    )


class RedisUrlCredential(CredentialModel):
    """A Redis connection URL."""

    type_name = "redis_url"
    display_name = "Redis connection"

    url: SecretStr = Field(description="redis://[:password@]host:6379/0 (rediss:// for TLS).")


class HmacSecretCredential(CredentialModel):
    """A shared secret for HMAC signatures (webhook verification, signed requests)."""

    type_name = "hmac_secret"
    display_name = "HMAC secret"

    secret: SecretStr = Field(description="The shared secret.")


class WebhookUrlCredential(CredentialModel):
    """An incoming-webhook URL (Slack, Discord, Teams): the URL itself is the secret."""

    type_name = "webhook_url"
    display_name = "Incoming webhook URL"

    url: SecretStr = Field(description="The full incoming-webhook URL, e.g. https://hooks...")


CREDENTIAL_TYPES: dict[str, type[CredentialModel]] = {
    cls.type_name: cls
    for cls in (
        ApiKeyCredential,
        BearerTokenCredential,
        BasicAuthCredential,
        OAuth2ClientCredentials,
        SmtpCredential,
        PostgresDsnCredential,
        RedisUrlCredential,
        HmacSecretCredential,
        WebhookUrlCredential,
    )
}
"""Every credential type by name."""


def get_credential_type(name: str) -> type[CredentialModel]:
    """The credential model class called ``name``.

    Raises:
        CredentialError: no such type; the message suggests the closest name.
    """
    try:
        return CREDENTIAL_TYPES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(CREDENTIAL_TYPES), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        known = ", ".join(sorted(CREDENTIAL_TYPES))
        raise CredentialError(
            f"unknown credential type '{name}'{hint}; known types: {known}"
        ) from None


def _derived(secret: str) -> list[str]:
    """Parts of a secret that may show up on their own (the password inside a DSN/URL)."""
    found: list[str] = []
    if "://" in secret:
        try:
            password = urlsplit(secret).password
        except ValueError:
            password = None
        if password:
            found.extend({password, unquote(password)})
    match = _CONNINFO_PASSWORD.search(secret)
    if match:
        found.append(match.group(1).strip("'"))
    return found


def _collect(value: Any, out: list[str]) -> None:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if secret:
            out.append(secret)
            out.extend(_derived(secret))
    elif isinstance(value, SecretBytes):
        raw = value.get_secret_value()
        if raw:
            out.append(raw.decode("utf-8", errors="replace"))
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect(getattr(value, name), out)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, out)


def secret_values(model: BaseModel) -> list[str]:
    """Every secret string inside ``model`` (plus passwords embedded in DSNs/URLs).

    Returns:
        Distinct non-empty values, longest first, ready for
        :class:`~reporunner.nodes.logging.RedactingFilter`.
    """
    out: list[str] = []
    _collect(model, out)
    return sorted(set(out), key=lambda s: (-len(s), s))
