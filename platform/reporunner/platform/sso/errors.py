"""Errors of single sign-on."""

from __future__ import annotations

from reporunner.nodes.errors import ReporunnerError

__all__ = [
    "PasswordSignInDisabled",
    "SsoNoWorkspace",
    "SsoProviderUnavailable",
    "SsoRefused",
    "SsoStateInvalid",
]


class SsoStateInvalid(ReporunnerError):
    """The callback's ``state`` is missing, wrong, used or expired (start the sign-in again)."""

    code = "sso_state_invalid"
    status = 400


class SsoRefused(ReporunnerError):
    """The provider's answer does not prove who the user is: a refused or replayed code, an ID
    token with a bad signature, another audience or issuer, a wrong nonce, an unverified
    e-mail address."""

    code = "sso_refused"
    status = 401


class SsoNoWorkspace(ReporunnerError):
    """The provider vouched for the user, but no workspace takes them (no role mapping
    matched and the provider has no default workspace)."""

    code = "sso_no_workspace"
    status = 403


class SsoProviderUnavailable(ReporunnerError):
    """The provider's discovery document, keys or token endpoint cannot be used."""

    code = "sso_provider_unavailable"
    status = 502


class PasswordSignInDisabled(ReporunnerError):
    """Password sign-in is off on this instance while SSO is on."""

    code = "password_signin_disabled"
    status = 403
