"""Authentication (API keys), principals, roles and the first-start bootstrap."""

from reporunner.platform.auth.bootstrap import (
    BootstrapResult,
    bootstrap_if_empty,
    create_workspace_with_owner,
)
from reporunner.platform.auth.keys import NewKey, generate_key, hash_key
from reporunner.platform.auth.middleware import (
    KEY_HINT,
    PUBLIC_OPT,
    SessionSource,
    UnknownKey,
    authenticate_key,
)
from reporunner.platform.auth.principal import ROLES, Principal, Role, requires, role_allows

__all__ = [
    "KEY_HINT",
    "PUBLIC_OPT",
    "ROLES",
    "BootstrapResult",
    "NewKey",
    "Principal",
    "Role",
    "SessionSource",
    "UnknownKey",
    "authenticate_key",
    "bootstrap_if_empty",
    "create_workspace_with_owner",
    "generate_key",
    "hash_key",
    "requires",
    "role_allows",
]
