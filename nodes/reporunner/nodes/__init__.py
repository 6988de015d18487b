"""Node SDK: the node contract, registry, expression engine, credential types and built-ins.

This part imports nothing else of reporunner.
"""

from reporunner.nodes.base import (
    Category,
    Item,
    Node,
    NodeContext,
    NodeInputs,
    NodeOutput,
    NoParams,
    Port,
)
from reporunner.nodes.errors import (
    ConfigurationError,
    ConflictError,
    CredentialError,
    ExpressionError,
    NodeError,
    NotFoundError,
    ReporunnerError,
    SSRFBlockedError,
    UnknownNodeType,
    ValidationFailed,
)

__all__ = [
    "Category",
    "ConfigurationError",
    "ConflictError",
    "CredentialError",
    "ExpressionError",
    "Item",
    "NoParams",
    "Node",
    "NodeContext",
    "NodeError",
    "NodeInputs",
    "NodeOutput",
    "NotFoundError",
    "Port",
    "ReporunnerError",
    "SSRFBlockedError",
    "UnknownNodeType",
    "ValidationFailed",
]
