"""Errors of the identity service."""

from __future__ import annotations

from reporunner.nodes.errors import ReporunnerError

__all__ = ["OwnerRequired"]


class OwnerRequired(ReporunnerError):
    """Only an owner may do this (e.g. add, promote, demote or remove an owner)."""

    code = "owner_required"
    status = 403
