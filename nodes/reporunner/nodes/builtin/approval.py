"""``human.approval``: park the execution until a person approves or rejects.

``ctx.interrupt`` parks the execution (LangGraph ``interrupt``) and returns the resume payload
once someone answers through ``POST /executions/{id}/resume``. When the execution resumes, the
engine runs this node again from the start, so nothing here may have a side effect before the
interrupt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import (
    Category,
    Item,
    Node,
    NodeContext,
    NodeInputs,
    NodeOutput,
    Port,
)
from reporunner.nodes.errors import NodeError

__all__ = ["Approval", "ApprovalParams", "Decision"]

_YES = frozenset({"approve", "approved", "yes", "accept", "accepted"})
_NO = frozenset({"reject", "rejected", "no", "deny", "denied"})


class ApprovalParams(BaseModel):
    """Params of ``human.approval``."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(
        min_length=1, description="What the approver is asked, e.g. 'Refund {{ item.amount }}?'."
    )
    title: str | None = Field(default=None, description="Short title for inboxes and lists.")
    include_items: bool = Field(
        default=True,
        description="Show the input items to the approver (turn off for sensitive data).",
    )
    result_field: str = Field(
        default="approval",
        min_length=1,
        description="Field added to each output item with {approved, comment, by}.",
    )


class Decision(BaseModel):
    """A resume payload: ``{"approved": bool}`` or ``{"decision": "approve" | "reject"}``."""

    model_config = ConfigDict(extra="ignore")

    approved: bool | None = Field(default=None, description="True to approve.")
    decision: str | None = Field(default=None, description="'approve' or 'reject'.")
    comment: str | None = Field(default=None, description="The approver's note.")
    by: str | None = Field(default=None, description="Who answered.")


class Approval(Node[ApprovalParams]):
    """Asks a human and routes the items to 'approved' or 'rejected'."""

    type = "human.approval"
    category = Category.ACTION
    display_name = "Human approval"
    description = (
        "Pauses the execution and asks a person to approve or reject (with a message and, "
        "optionally, the items). On resume, all input items go out of 'approved' or "
        "'rejected', each with a field (default 'approval') holding {approved, comment, by}."
    )
    Params = ApprovalParams
    inputs = (Port("main", "Items the decision is about."),)
    outputs = (
        Port("approved", "The items, when the approver said yes."),
        Port("rejected", "The items, when the approver said no."),
    )
    example: ClassVar[Mapping[str, Any]] = {"message": "Send the invoice to {{ item.customer }}?"}

    async def run(self, ctx: NodeContext, params: ApprovalParams, inputs: NodeInputs) -> NodeOutput:
        items = list(inputs.get("main", []))
        payload: dict[str, Any] = {
            "kind": "approval",
            "node_id": ctx.node_id,
            "title": params.title,
            "message": params.message,
            "options": ["approve", "reject"],
        }
        if params.include_items:
            payload["items"] = items
        decision = _decision(ctx.interrupt(payload))
        result = {"approved": decision.approved, "comment": decision.comment, "by": decision.by}
        out: list[Item] = [{**item, params.result_field: result} for item in items]
        return NodeOutput.to("approved" if decision.approved else "rejected", out)


def _decision(raw: Any) -> Decision:
    """Read the resume payload (a bool, a word, or an object)."""
    if isinstance(raw, bool):
        return Decision(approved=raw)
    if isinstance(raw, str):
        raw = {"decision": raw}
    if isinstance(raw, Mapping):
        decision = Decision.model_validate(dict(raw))
        word = (decision.decision or "").strip().lower()
        if decision.approved is None and word in _YES | _NO:
            decision.approved = word in _YES
        if decision.approved is not None:
            return decision
    raise NodeError(
        f"human.approval cannot read the resume payload {raw!r}: resume with "
        '{"approved": true|false, "comment": "...", "by": "..."} or {"decision": '
        '"approve"|"reject"}'
    )
