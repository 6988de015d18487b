"""The copilot: natural language → a valid workflow definition, and edits as JSON Patch.

This is the pure core: it talks to a model and to a ``validate`` callable, nothing else. The
platform passes the engine's validator (this part may not import the platform), its LLM client
and the catalog of its node registry, and stores the result.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reporunner.agents.copilot import prompt
from reporunner.agents.copilot.errors import PatchFailed
from reporunner.agents.copilot.jsonpatch import apply_patch, make_patch
from reporunner.agents.copilot.repair import (
    Attempt,
    CompletionClient,
    Validator,
    run_repair_loop,
)
from reporunner.agents.copilot.retrieval import Candidate, NodeIndex, QueryEmbedder
from reporunner.agents.copilot.shaping import (
    MissingCredential,
    NodeExplanation,
    explanations_for,
    layout,
    missing_credentials,
    placeholder_credentials,
    secret_problems,
)
from reporunner.agents.llm.types import Message, Usage
from reporunner.nodes.errors import Problem, ValidationFailed

__all__ = ["Copilot", "EditResult", "GenerationResult"]

DEFAULT_MAX_REPAIRS = 3
DEFAULT_TOP_K = 10


def _decoded(value: Any) -> Any:
    """Models sometimes send a nested object as JSON text; take it as the object."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _explanation_map(value: Any) -> Any:
    """Accept ``[{"node_id": ..., "explanation": ...}]`` as well as ``{node_id: text}``."""
    value = _decoded(value)
    if isinstance(value, list):
        return {
            str(v.get("node_id") or v.get("id")): str(v.get("explanation") or v.get("text"))
            for v in value
            if isinstance(v, dict)
        }
    return value if value is not None else {}


class _Proposal(BaseModel):
    model_config = ConfigDict(extra="ignore")

    definition: dict[str, Any] = Field(description="The workflow definition.")
    explanations: dict[str, Any] = Field(default_factory=dict, description="Per node id.")
    summary: str = Field("", description="What the workflow does.")

    _definition = field_validator("definition", mode="before")(_decoded)
    _explanations = field_validator("explanations", mode="before")(_explanation_map)


class _EditProposal(BaseModel):
    model_config = ConfigDict(extra="ignore")

    patch: list[dict[str, Any]] = Field(description="RFC 6902 operations.")
    summary: str = Field("", description="What changed.")
    explanations: dict[str, Any] = Field(default_factory=dict, description="Per node id.")

    _patch = field_validator("patch", mode="before")(_decoded)
    _explanations = field_validator("explanations", mode="before")(_explanation_map)


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """A generated workflow that passed validation.

    Attributes:
        definition: The valid definition (credential bindings hold the placeholder).
        summary: What the workflow does, in the model's words.
        explanations: One per node, in node order.
        missing_credentials: Credentials the user still has to supply.
        attempts: Every answer and its problems (the last one has none).
        candidates: The node types offered to the model.
        usage: Tokens and cost of all rounds.
    """

    definition: dict[str, Any]
    summary: str
    explanations: tuple[NodeExplanation, ...]
    missing_credentials: tuple[MissingCredential, ...]
    attempts: tuple[Attempt, ...]
    candidates: tuple[Candidate, ...]
    usage: Usage

    @property
    def repairs(self) -> int:
        """How many repair rounds it took (0: valid on the first answer)."""
        return len(self.attempts) - 1


@dataclass(frozen=True, slots=True)
class EditResult:
    """A validated change to a definition.

    Attributes:
        patch: RFC 6902 operations turning the current definition into ``definition``.
        definition: The changed, valid definition.
        summary: The change in words.
        explanations: One per node of the changed definition.
        missing_credentials: Credentials that new nodes still need.
        attempts: Every answer and its problems.
        usage: Tokens and cost.
    """

    patch: list[dict[str, Any]]
    definition: dict[str, Any]
    summary: str
    explanations: tuple[NodeExplanation, ...]
    missing_credentials: tuple[MissingCredential, ...]
    attempts: tuple[Attempt, ...]
    usage: Usage

    @property
    def repairs(self) -> int:
        """How many repair rounds it took."""
        return len(self.attempts) - 1


def _shape_problems(err: ValidationError) -> list[Problem]:
    return [
        Problem(
            "/" + "/".join(str(p) for p in e["loc"]),
            "invalid_tool_arguments",
            f"tool argument {'.'.join(str(p) for p in e['loc'])}: {e['msg']}",
        )
        for e in err.errors(include_url=False)
    ]


class Copilot:
    """Generates and edits workflows with a model, validating every answer.

    Args:
        llm: The model client (``reporunner.agents.llm.LLMClient`` or anything alike).
        validate: The engine's validator for raw definitions.
        catalog: Catalog entries of the node registry the definitions are validated against.
        embedder: Embeds catalog and descriptions (the local MiniLM when None).
        max_repairs: Repair rounds after the first answer (default 3).
        top_k: Most similar node types offered besides the named, trigger and core ones.
        definition_schema: JSON Schema of a definition, given to the model in the tool.
        normalize: Turns a valid definition into its stored form (defaults filled in), so
            that results, patches and saved versions agree; identity when None.
        temperature: Sampling temperature.
    """

    def __init__(
        self,
        llm: CompletionClient,
        validate: Validator,
        catalog: Sequence[Mapping[str, Any]],
        *,
        embedder: QueryEmbedder | None = None,
        index: NodeIndex | None = None,
        max_repairs: int = DEFAULT_MAX_REPAIRS,
        top_k: int = DEFAULT_TOP_K,
        definition_schema: Mapping[str, Any] | None = None,
        normalize: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        temperature: float | None = 0.0,
    ) -> None:
        if max_repairs < 0:
            raise ValueError("max_repairs must be >= 0")
        self.llm = llm
        self.validate = validate
        self.index = index or NodeIndex(catalog, embedder)
        self.max_repairs = max_repairs
        self.top_k = top_k
        self.definition_schema = definition_schema
        self.temperature = temperature
        self.normalize = normalize or (lambda definition: definition)
        self._display = {str(e["type"]): str(e.get("display_name", "")) for e in catalog}

    def _problems(self, definition: dict[str, Any]) -> list[Problem]:
        return [*self.validate(definition), *secret_problems(definition)]

    async def generate(self, description: str) -> GenerationResult:
        """A valid workflow for ``description``.

        Raises:
            CopilotFailed: still invalid after the last repair round (422 with the problems).
            ValidationFailed: the description is empty.
            LLMCallFailed: the model could not be reached.
        """
        if not description.strip():
            raise ValidationFailed("describe the workflow to generate (the description is empty)")
        candidates = await self.index.candidates(description, self.top_k)
        entries = [self.index.entries[c.type] for c in candidates]

        async def check(args: dict[str, Any]) -> tuple[_Proposal | None, list[Problem]]:
            try:
                proposal = _Proposal.model_validate(args)
            except ValidationError as err:
                return None, _shape_problems(err)
            layout(placeholder_credentials(proposal.definition))
            return proposal, self._problems(proposal.definition)

        result = await run_repair_loop(
            self.llm,
            prompt.generate_messages(description, entries),
            prompt.generate_tool(self.definition_schema),
            check,
            max_repairs=self.max_repairs,
            temperature=self.temperature,
        )
        defn = self.normalize(result.value.definition)
        return GenerationResult(
            definition=defn,
            summary=result.value.summary.strip(),
            explanations=tuple(explanations_for(defn, result.value.explanations, self._display)),
            missing_credentials=tuple(missing_credentials(defn)),
            attempts=result.attempts,
            candidates=tuple(candidates),
            usage=result.usage,
        )

    async def edit(
        self,
        definition: Mapping[str, Any],
        instruction: str,
        history: Sequence[Message] = (),
    ) -> EditResult:
        """A validated change of ``definition`` following ``instruction``, as a JSON Patch.

        The returned patch is recomputed from the accepted result, so it applies exactly to
        ``definition`` (credential bindings the user made are never touched).

        Args:
            definition: The definition to change.
            instruction: The change, in plain language.
            history: Earlier turns of a refinement chat (user instructions and assistant
                summaries), so "make it weekly instead" has its context.

        Raises:
            CopilotFailed: still invalid after the last repair round.
            ValidationFailed: the instruction is empty.
            LLMCallFailed: the model could not be reached.
        """
        if not instruction.strip():
            raise ValidationFailed("say what to change (the instruction is empty)")
        current = copy.deepcopy(dict(definition))
        used = {str(n.get("type")) for n in current.get("nodes") or [] if isinstance(n, dict)}
        candidates = await self.index.candidates(instruction, self.top_k)
        types = [c.type for c in candidates]
        types += sorted(t for t in used if t in self.index.entries and t not in types)
        entries = [self.index.entries[t] for t in types]

        async def check(
            args: dict[str, Any],
        ) -> tuple[tuple[_EditProposal, dict[str, Any]] | None, list[Problem]]:
            try:
                proposal = _EditProposal.model_validate(args)
                patched = apply_patch(current, proposal.patch)
            except ValidationError as err:
                return None, _shape_problems(err)
            except PatchFailed as err:
                return None, [Problem("/patch", "invalid_patch", err.detail)]
            if not isinstance(patched, dict):
                return None, [
                    Problem("/patch", "invalid_patch", "the patch must leave a definition object")
                ]
            layout(placeholder_credentials(patched, keep=current))
            return (proposal, patched), self._problems(patched)

        messages = prompt.edit_messages(current, instruction, entries)
        messages[1:1] = [dict(m) for m in history]
        result = await run_repair_loop(
            self.llm,
            messages,
            prompt.edit_tool(),
            check,
            max_repairs=self.max_repairs,
            edit=True,
            temperature=self.temperature,
        )
        proposal, patched = result.value
        patched = self.normalize(patched)
        return EditResult(
            patch=make_patch(current, patched),
            definition=patched,
            summary=proposal.summary.strip(),
            explanations=tuple(explanations_for(patched, proposal.explanations, self._display)),
            missing_credentials=tuple(missing_credentials(patched)),
            attempts=result.attempts,
            usage=result.usage,
        )
