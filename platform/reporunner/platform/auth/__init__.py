"""Authentication (API keys), principals, roles and the first-start bootstrap."""

from reporunner.platform.auth.bootstrap import (
    BootstrapResult,
    bootstrap_if_empty,
    create_workspace_with_owner,
)
from reporunner.platform.auth.keys import NewKey, generate_key, hash_key
from reporunner.platform.auth.middleware import (
    PUBLIC_OPT,
    ApiKeyAuthMiddleware,
    SessionSource,
    authenticate_key,
)
from reporunner.platform.auth.principal import ROLES, Principal, Role, requires, role_allows

__all__ = [
    "PUBLIC_OPT",
    "ROLES",
    "ApiKeyAuthMiddleware",
    "BootstrapResult",
    "NewKey",
    "Principal",
    "Role",
    "SessionSource",
    "authenticate_key",
    "bootstrap_if_empty",
    "create_workspace_with_owner",
    "generate_key",
    "hash_key",
    "requires",
    "role_allows",
]
