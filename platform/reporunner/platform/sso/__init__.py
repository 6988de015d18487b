"""Single sign-on with OpenID Connect: providers configured by instance admins, and the
sign-in flow (authorization code with PKCE, ``state`` and ``nonce``, ID token checked)."""

from reporunner.platform.sso.errors import (
    PasswordSignInDisabled,
    SsoNoWorkspace,
    SsoProviderUnavailable,
    SsoRefused,
    SsoStateInvalid,
)
from reporunner.platform.sso.flow import (
    SignedIn,
    enabled_provider,
    finish_sign_in,
    start_sign_in,
)
from reporunner.platform.sso.providers import (
    NotInstanceAdmin,
    callback_path,
    create_provider,
    delete_provider,
    list_providers,
)
from reporunner.platform.sso.schemas import (
    OidcProviderCreate,
    OidcProviderOut,
    RoleRule,
    SsoInfo,
    SsoProviderPublic,
    SsoSettings,
)

__all__ = [
    "NotInstanceAdmin",
    "OidcProviderCreate",
    "OidcProviderOut",
    "PasswordSignInDisabled",
    "RoleRule",
    "SignedIn",
    "SsoInfo",
    "SsoNoWorkspace",
    "SsoProviderPublic",
    "SsoProviderUnavailable",
    "SsoRefused",
    "SsoSettings",
    "SsoStateInvalid",
    "callback_path",
    "create_provider",
    "delete_provider",
    "enabled_provider",
    "finish_sign_in",
    "list_providers",
    "start_sign_in",
]
