"""Workflows and their immutable, content-hashed versions (service layer of the API)."""

from reporunner.platform.workflows.preview import (
    PreviewIn,
    PreviewOut,
    PreviewValue,
    preview_params,
)
from reporunner.platform.workflows.schemas import (
    ProblemOut,
    ValidationOut,
    VersionOut,
    VersionSummary,
    WorkflowCreated,
    WorkflowOut,
)
from reporunner.platform.workflows.service import (
    archive_workflow,
    check_definition,
    create_workflow,
    delete_workflow,
    get_version,
    get_workflow,
    list_versions,
    list_workflows,
    load_version,
    publish_version,
    save_version,
    validate_definition,
)

__all__ = [
    "PreviewIn",
    "PreviewOut",
    "PreviewValue",
    "ProblemOut",
    "ValidationOut",
    "VersionOut",
    "VersionSummary",
    "WorkflowCreated",
    "WorkflowOut",
    "archive_workflow",
    "check_definition",
    "create_workflow",
    "delete_workflow",
    "get_version",
    "get_workflow",
    "list_versions",
    "list_workflows",
    "load_version",
    "preview_params",
    "publish_version",
    "save_version",
    "validate_definition",
]
