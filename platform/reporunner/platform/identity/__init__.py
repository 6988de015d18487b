"""Workspace identity: members and roles, personal API keys, and the audit log."""

from reporunner.platform.identity.audit import audit_entry, list_audit
from reporunner.platform.identity.errors import OwnerRequired
from reporunner.platform.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditEntryOut,
    AuditPage,
    MemberAdd,
    MemberAdded,
    MemberOut,
    MemberUpdate,
    WorkspaceOut,
)
from reporunner.platform.identity.service import (
    add_member,
    change_member_role,
    create_api_key,
    get_workspace,
    list_api_keys,
    list_members,
    remove_member,
    revoke_api_key,
)

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyOut",
    "AuditEntryOut",
    "AuditPage",
    "MemberAdd",
    "MemberAdded",
    "MemberOut",
    "MemberUpdate",
    "OwnerRequired",
    "WorkspaceOut",
    "add_member",
    "audit_entry",
    "change_member_role",
    "create_api_key",
    "get_workspace",
    "list_api_keys",
    "list_audit",
    "list_members",
    "remove_member",
    "revoke_api_key",
]
