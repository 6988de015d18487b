"""The copilot service: generate workflows from descriptions, edit them as JSON Patch, and
refine them over several turns in a chat thread bound to the workflow."""

from reporunner.platform.copilot.chat import (
    COPILOT_AGENT_ID,
    create_thread,
    list_thread_messages,
    list_threads,
    post_turn,
)
from reporunner.platform.copilot.schemas import (
    EditOut,
    EditRequest,
    ExplanationOut,
    GenerateOut,
    GenerateRequest,
    MissingCredentialOut,
    PatchRequest,
    StatusOut,
    ThreadCreate,
    ThreadMessageOut,
    ThreadOut,
    TurnOut,
    TurnRequest,
)
from reporunner.platform.copilot.service import (
    apply_workflow_patch,
    build_copilot,
    copilot_status,
    edit_workflow,
    generate_workflow,
    registry_catalog,
    version_to_edit,
)

__all__ = [
    "COPILOT_AGENT_ID",
    "EditOut",
    "EditRequest",
    "ExplanationOut",
    "GenerateOut",
    "GenerateRequest",
    "MissingCredentialOut",
    "PatchRequest",
    "StatusOut",
    "ThreadCreate",
    "ThreadMessageOut",
    "ThreadOut",
    "TurnOut",
    "TurnRequest",
    "apply_workflow_patch",
    "build_copilot",
    "copilot_status",
    "create_thread",
    "edit_workflow",
    "generate_workflow",
    "list_thread_messages",
    "list_threads",
    "post_turn",
    "registry_catalog",
    "version_to_edit",
]
