"""Request and response models of ``/widgets`` (admin) and ``/public/widgets`` (visitors)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "PublicMessage",
    "VisitorHistory",
    "VisitorIn",
    "VisitorMessageIn",
    "VisitorOut",
    "WidgetColors",
    "WidgetConfig",
    "WidgetCreate",
    "WidgetOut",
    "WidgetPage",
    "WidgetUpdate",
]

_HEX = r"^#[0-9a-fA-F]{6}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WidgetColors(_Model):
    """The bubble's colours (``#rrggbb``); unset ones keep the widget's defaults."""

    accent: str | None = Field(
        default=None, pattern=_HEX, description="Bubble, header and the visitor's messages."
    )
    background: str | None = Field(default=None, pattern=_HEX, description="Panel background.")
    text: str | None = Field(default=None, pattern=_HEX, description="Panel text.")


class WidgetCreate(_Model):
    """A new widget bound to one published chat workflow of the workspace."""

    name: str = Field(min_length=1, max_length=200, description="Shown in the widget list.")
    workflow_id: uuid.UUID = Field(
        description="The published workflow (starting with a Chat trigger) it chats with."
    )
    allowed_origins: list[str] = Field(
        min_length=1,
        max_length=20,
        description="Exact origins (`https://shop.example`, `http://localhost:3000`) whose pages "
        "may use the widget; no paths, no wildcards.",
    )
    greeting: str = Field(default="", max_length=1000, description="First message shown.")
    colors: WidgetColors = Field(default_factory=WidgetColors, description="Colours.")
    messages_per_minute: int = Field(
        default=10, ge=1, le=600, description="Messages one visitor may send per minute."
    )
    visitors_per_minute: int = Field(
        default=10,
        ge=1,
        le=600,
        description="New visitors one client address may start per minute.",
    )
    enabled: bool = Field(default=True, description="A disabled widget answers 404 to visitors.")


class WidgetUpdate(_Model):
    """Fields to change (the public id never changes)."""

    name: str | None = Field(default=None, min_length=1, max_length=200, description="Name.")
    workflow_id: uuid.UUID | None = Field(default=None, description="Another chat workflow.")
    allowed_origins: list[str] | None = Field(
        default=None, min_length=1, max_length=20, description="Exact origins."
    )
    greeting: str | None = Field(default=None, max_length=1000, description="First message.")
    colors: WidgetColors | None = Field(default=None, description="Colours.")
    messages_per_minute: int | None = Field(
        default=None, ge=1, le=600, description="Messages per visitor per minute."
    )
    visitors_per_minute: int | None = Field(
        default=None, ge=1, le=600, description="New visitors per client address per minute."
    )
    enabled: bool | None = Field(default=None, description="Enabled.")


class WidgetOut(_Model):
    """A widget as admins see it."""

    id: uuid.UUID = Field(description="Widget id (admin API).")
    public_id: str = Field(description="The script tag's `data-chat` value.")
    name: str = Field(description="Name.")
    workflow_id: uuid.UUID = Field(description="The chat workflow it starts.")
    allowed_origins: list[str] = Field(description="Origins allowed to embed it.")
    greeting: str = Field(description="First message shown.")
    colors: WidgetColors = Field(description="Colours.")
    messages_per_minute: int = Field(description="Messages per visitor per minute.")
    visitors_per_minute: int = Field(description="New visitors per client address per minute.")
    enabled: bool = Field(description="Whether visitors can use it.")
    snippet: str = Field(description="The script tag to paste (HOST: this server's address).")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="Last change.")


class WidgetPage(_Model):
    """The workspace's widgets, newest first."""

    items: list[WidgetOut] = Field(description="Widgets.")


class WidgetConfig(_Model):
    """What the embedded script needs to draw the bubble."""

    public_id: str = Field(description="The widget's public id.")
    name: str = Field(description="Shown in the panel's header.")
    greeting: str = Field(description="First message shown.")
    colors: WidgetColors = Field(description="Colours.")


class VisitorIn(_Model):
    """Empty: a visitor is anonymous."""


class VisitorOut(_Model):
    """A new anonymous visitor with its own thread."""

    token: str = Field(description="Signed visitor token; send it with messages and history.")
    expires_at: datetime = Field(description="When the token stops working.")


class VisitorMessageIn(_Model):
    """A visitor's message."""

    token: str = Field(min_length=1, max_length=1000, description="The visitor token.")
    content: str = Field(min_length=1, max_length=4000, description="What the visitor says.")


class PublicMessage(_Model):
    """A message of the visitor's thread, as the visitor sees it."""

    id: uuid.UUID = Field(description="Message id.")
    role: Literal["user", "assistant"] = Field(description="Who wrote it.")
    content: str = Field(description="Text.")
    created_at: datetime = Field(description="When it was written.")


class VisitorHistory(_Model):
    """The visitor's own thread, oldest first."""

    items: list[PublicMessage] = Field(description="Messages.")
