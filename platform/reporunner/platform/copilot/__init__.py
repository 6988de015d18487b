"""The copilot service: generate workflows from descriptions, edit them as JSON Patch."""

from reporunner.platform.copilot.schemas import (
    EditOut,
    EditRequest,
    ExplanationOut,
    GenerateOut,
    GenerateRequest,
    MissingCredentialOut,
    PatchRequest,
)
from reporunner.platform.copilot.service import (
    apply_workflow_patch,
    build_copilot,
    edit_workflow,
    generate_workflow,
    registry_catalog,
)

__all__ = [
    "EditOut",
    "EditRequest",
    "ExplanationOut",
    "GenerateOut",
    "GenerateRequest",
    "MissingCredentialOut",
    "PatchRequest",
    "apply_workflow_patch",
    "build_copilot",
    "edit_workflow",
    "generate_workflow",
    "registry_catalog",
]
