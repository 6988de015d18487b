"""Credential API bodies: secrets go in, never come out (only which fields are set)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=200, description="Unique name in the workspace.")
    type: str = Field(
        description="Credential type, e.g. 'bearer_token' (see GET /credential-types)."
    )
    data: dict[str, Any] = Field(description="Fields of the credential type, secrets included.")


class CredentialUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str | None = Field(default=None, min_length=1, max_length=200, description="New name.")
    data: dict[str, Any] | None = Field(
        default=None, description="Replacement fields (the whole credential, secrets included)."
    )
    keep_unset: bool = Field(
        default=False,
        description="True: fields missing from 'data' keep their stored values (a form that "
        "never sees the secrets sends only what the user typed); false: 'data' is the whole "
        "credential.",
    )


class CredentialOut(BaseModel):
    id: uuid.UUID = Field(description="Credential id, referenced from node 'credentials'.")
    name: str = Field(description="Unique name in the workspace.")
    type: str = Field(description="Credential type name.")
    fields_set: list[str] = Field(description="Fields that hold a value (values never returned).")
    created_at: datetime = Field(description="When it was created.")
    last_used_at: datetime | None = Field(description="When a node run last decrypted it.")
