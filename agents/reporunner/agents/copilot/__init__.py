"""The workflow copilot: natural language → a valid workflow, and edits as JSON Patch.

The core is pure (a model client and a ``validate`` callable come in as arguments); the
platform wires it to the engine's validator, its LLM settings and the workflows service.
"""

from reporunner.agents.copilot.copilot import Copilot, EditResult, GenerationResult
from reporunner.agents.copilot.errors import CopilotFailed, PatchFailed
from reporunner.agents.copilot.jsonpatch import apply_patch, make_patch
from reporunner.agents.copilot.prompt import CREDENTIAL_PLACEHOLDER
from reporunner.agents.copilot.repair import Attempt, CompletionClient, Validator
from reporunner.agents.copilot.retrieval import ALWAYS_INCLUDED, Candidate, NodeIndex
from reporunner.agents.copilot.shaping import MissingCredential, NodeExplanation

__all__ = [
    "ALWAYS_INCLUDED",
    "CREDENTIAL_PLACEHOLDER",
    "Attempt",
    "Candidate",
    "CompletionClient",
    "Copilot",
    "CopilotFailed",
    "EditResult",
    "GenerationResult",
    "MissingCredential",
    "NodeExplanation",
    "NodeIndex",
    "PatchFailed",
    "Validator",
    "apply_patch",
    "make_patch",
]
