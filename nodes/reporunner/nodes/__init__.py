"""Node SDK: the node contract, registry, expression engine, credential types and catalog.

This part imports nothing else of reporunner. Built-in nodes live in
``reporunner.nodes.builtin`` (one module per node) and are found by the registry.
``reporunner.nodes.catalog.catalog`` is not re-exported here because the name would shadow
its module; import it from there.
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
from reporunner.nodes.catalog import (
    credential_catalog,
    credential_schema,
    node_schema,
)
from reporunner.nodes.credentials import (
    CREDENTIAL_TYPES,
    ApiKeyCredential,
    BasicAuthCredential,
    BearerTokenCredential,
    CredentialModel,
    HmacSecretCredential,
    OAuth2ClientCredentials,
    PostgresDsnCredential,
    RedisUrlCredential,
    SmtpCredential,
    WebhookUrlCredential,
    get_credential_type,
    secret_values,
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
    parse_id,
)
from reporunner.nodes.expressions import (
    CONTEXT_NAMES,
    ExpressionProblem,
    RenderLimits,
    check,
    has_expressions,
    referenced_nodes,
    render,
)
from reporunner.nodes.logging import (
    RedactingFilter,
    RedactingLoggerAdapter,
)
from reporunner.nodes.registry import (
    DuplicateNodeType,
    InvalidNodeClass,
    NodeRegistry,
    default_registry,
    import_submodules,
    load_builtins,
    load_entry_points,
    node_classes_in,
)

__all__ = [
    "CONTEXT_NAMES",
    "CREDENTIAL_TYPES",
    "ApiKeyCredential",
    "BasicAuthCredential",
    "BearerTokenCredential",
    "Category",
    "ConfigurationError",
    "ConflictError",
    "CredentialError",
    "CredentialModel",
    "DuplicateNodeType",
    "ExpressionError",
    "ExpressionProblem",
    "HmacSecretCredential",
    "InvalidNodeClass",
    "Item",
    "NoParams",
    "Node",
    "NodeContext",
    "NodeError",
    "NodeInputs",
    "NodeOutput",
    "NodeRegistry",
    "NotFoundError",
    "OAuth2ClientCredentials",
    "Port",
    "PostgresDsnCredential",
    "RedactingFilter",
    "RedactingLoggerAdapter",
    "RedisUrlCredential",
    "RenderLimits",
    "ReporunnerError",
    "SSRFBlockedError",
    "SmtpCredential",
    "UnknownNodeType",
    "ValidationFailed",
    "WebhookUrlCredential",
    "check",
    "credential_catalog",
    "credential_schema",
    "default_registry",
    "get_credential_type",
    "has_expressions",
    "import_submodules",
    "load_builtins",
    "load_entry_points",
    "node_classes_in",
    "node_schema",
    "parse_id",
    "referenced_nodes",
    "render",
    "secret_values",
]
