"""Knowledge bases in the platform: service functions for the API, ingestion jobs, the
workspace-scoped ``knowledge`` node service. Uploaded originals live in
:mod:`reporunner.platform.originals`.

The parsing, chunking, embedding and search themselves live in :mod:`reporunner.knowledge`.
"""

from reporunner.platform.knowledge.events import kb_channel, progress_event, publish_event
from reporunner.platform.knowledge.node_service import (
    KNOWLEDGE,
    WorkspaceKnowledgeService,
    knowledge_provider,
    knowledge_service,
)
from reporunner.platform.knowledge.uploads import (
    IncomingFile,
    UploadLimits,
    UrlFetchFailed,
    fetch_url,
    files_from_json,
    files_from_multipart,
    read_json_body,
)

__all__ = [
    "KNOWLEDGE",
    "IncomingFile",
    "UploadLimits",
    "UrlFetchFailed",
    "WorkspaceKnowledgeService",
    "fetch_url",
    "files_from_json",
    "files_from_multipart",
    "kb_channel",
    "knowledge_provider",
    "knowledge_service",
    "progress_event",
    "publish_event",
    "read_json_body",
]
