"""Authentication (API keys and browser sessions), principals, roles and the first-start
bootstrap."""

from reporunner.platform.auth.bootstrap import (
    SETUP_TTL,
    BootstrapResult,
    bootstrap_if_empty,
    create_setup_token,
    create_workspace_with_owner,
)
from reporunner.platform.auth.keys import NewKey, generate_key, hash_key
from reporunner.platform.auth.middleware import (
    KEY_HINT,
    PUBLIC_OPT,
    UnknownKey,
    authenticate_key,
    check_csrf,
)
from reporunner.platform.auth.principal import ROLES, Principal, Role, requires, role_allows
from reporunner.platform.auth.sessions import (
    CSRF_HEADER,
    SESSION_COOKIE,
    authenticate_session,
    clear_cookie,
    end_session,
    session_cookie,
    start_session,
)
from reporunner.platform.auth.source import SessionSource

__all__ = [
    "CSRF_HEADER",
    "KEY_HINT",
    "PUBLIC_OPT",
    "ROLES",
    "SESSION_COOKIE",
    "SETUP_TTL",
    "BootstrapResult",
    "NewKey",
    "Principal",
    "Role",
    "SessionSource",
    "UnknownKey",
    "authenticate_key",
    "authenticate_session",
    "bootstrap_if_empty",
    "check_csrf",
    "clear_cookie",
    "create_setup_token",
    "create_workspace_with_owner",
    "end_session",
    "generate_key",
    "hash_key",
    "requires",
    "role_allows",
    "session_cookie",
    "start_session",
]
