"""ORM models; importing this package registers every table on ``Base.metadata``."""

from reporunner.platform.db.models.chat import ChatMessage, ChatThread, ChatTurn
from reporunner.platform.db.models.evaluations import EvalDataset, EvalRun
from reporunner.platform.db.models.identity import ApiKey, AuditLog, Membership, User, Workspace
from reporunner.platform.db.models.knowledge import (
    Chunk,
    Document,
    KnowledgeBase,
    KnowledgeTerm,
    Memory,
)
from reporunner.platform.db.models.mcp import McpServer
from reporunner.platform.db.models.metrics import MetricCounter
from reporunner.platform.db.models.originals import OriginalBlob, OriginalChunk
from reporunner.platform.db.models.second_factor import RecoveryCode, TotpSecret
from reporunner.platform.db.models.signin import BrowserSession, OneTimeToken
from reporunner.platform.db.models.sso import OidcIdentity, OidcProvider
from reporunner.platform.db.models.vault import Credential
from reporunner.platform.db.models.widget import ChatWidget
from reporunner.platform.db.models.workflows import (
    EXECUTION_STATUSES,
    Execution,
    NodeRun,
    Schedule,
    Workflow,
    WorkflowTestRun,
    WorkflowVersion,
)

__all__ = [
    "EXECUTION_STATUSES",
    "ApiKey",
    "AuditLog",
    "BrowserSession",
    "ChatMessage",
    "ChatThread",
    "ChatTurn",
    "ChatWidget",
    "Chunk",
    "Credential",
    "Document",
    "EvalDataset",
    "EvalRun",
    "Execution",
    "KnowledgeBase",
    "KnowledgeTerm",
    "McpServer",
    "Membership",
    "Memory",
    "MetricCounter",
    "NodeRun",
    "OidcIdentity",
    "OidcProvider",
    "OneTimeToken",
    "OriginalBlob",
    "OriginalChunk",
    "RecoveryCode",
    "Schedule",
    "TotpSecret",
    "User",
    "Workflow",
    "WorkflowTestRun",
    "WorkflowVersion",
    "Workspace",
]
