"""``email.send``: send an email through the SMTP account of an ``smtp`` credential.

The stdlib ``smtplib`` client runs in a worker thread (``asyncio.to_thread``) so the event loop
never blocks. The Message-ID is derived from the item's idempotency key so that a message re-sent
after a crash-resume carries the same id (receivers and relays can drop the duplicate).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._idempotency import item_idempotency_key
from reporunner.nodes.credentials import SmtpCredential, secret_values
from reporunner.nodes.errors import CredentialError, NodeError
from reporunner.nodes.hostguard import host_guard
from reporunner.nodes.logging import redact

__all__ = ["Attachment", "EmailSend", "EmailSendParams"]


class Attachment(BaseModel):
    """A file attached to the email."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, description="File name shown to the recipient.")
    content_base64: str = Field(description="The file's bytes, base64-encoded.")
    mime_type: str = Field(
        default="application/octet-stream", description="Content type, e.g. 'application/pdf'."
    )


def _addresses(value: str | list[str]) -> list[str]:
    raw = [value] if isinstance(value, str) else value
    found = [addr for _, addr in getaddresses(raw) if addr]
    bad = [a for a in found if "@" not in a or a.startswith("@") or a.endswith("@")]
    if bad:
        raise ValueError(f"not an email address: {', '.join(bad)}")
    return found


class EmailSendParams(BaseModel):
    """Params of ``email.send``."""

    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(min_length=1, description="Recipients (addresses or 'Name <addr>').")
    cc: list[str] = Field(default_factory=list, description="Carbon-copy recipients.")
    bcc: list[str] = Field(
        default_factory=list, description="Blind-copy recipients (not shown in headers)."
    )
    subject: str = Field(min_length=1, max_length=998, description="Subject line.")
    text: str | None = Field(default=None, description="Plain-text body.")
    html: str | None = Field(default=None, description="HTML body (sent with the text part).")
    from_address: str | None = Field(
        default=None, description="Sender; defaults to the credential's from_address."
    )
    reply_to: str | None = Field(default=None, description="Reply-To address.")
    attachments: list[Attachment] = Field(default_factory=list, description="Attached files.")
    timeout: float = Field(default=30.0, gt=0, le=300, description="SMTP timeout in seconds.")

    @field_validator("to", "cc", "bcc", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value] if value.strip() else []
        return value

    @field_validator("to", "cc", "bcc")
    @classmethod
    def _valid(cls, value: list[str]) -> list[str]:
        _addresses(value)
        return value

    @model_validator(mode="after")
    def _has_body(self) -> EmailSendParams:
        if not self.text and not self.html:
            raise ValueError("set 'text' or 'html' (or both)")
        return self


class EmailSend(Node[EmailSendParams]):
    """Sends one email per input item."""

    type = "email.send"
    category = Category.ACTION
    display_name = "Send email"
    description = (
        "Sends an email (to/cc/bcc, subject, text and/or HTML body, attachments) through the "
        "SMTP server of an 'smtp' credential, once per input item; outputs {message_id, "
        "accepted, refused}."
    )
    Params = EmailSendParams
    inputs = (Port("main", "Each item sends one email (params may use {{ item }})."),)
    outputs = (Port("main", "One {message_id, accepted, refused} item per email."),)
    credential_types = ("smtp",)
    mode = "each"
    example: ClassVar[Mapping[str, Any]] = {
        "to": ["ops@example.com"],
        "subject": "Report for {{ item.name }}",
        "text": "Hi {{ item.name }}, your report is ready.",
    }

    async def run(
        self, ctx: NodeContext, params: EmailSendParams, inputs: NodeInputs
    ) -> NodeOutput:
        credential = ctx.credential("smtp")
        if not isinstance(credential, SmtpCredential):
            raise CredentialError(
                f"email.send needs an 'smtp' credential, got a {type(credential).__name__}"
            )
        message = _build(params, credential, item_idempotency_key(ctx, inputs))
        recipients = _addresses([*params.to, *params.cc, *params.bcc])
        secrets = secret_values(credential)
        addresses = await host_guard(ctx).addresses(credential.host, credential.port)
        if not addresses:
            raise CredentialError("an SMTP host must be a host name or address, not a path")
        try:
            refused = await asyncio.to_thread(
                _deliver, credential, addresses[0], message, recipients, params
            )
        except (smtplib.SMTPException, OSError) as err:
            detail = redact(f"{type(err).__name__}: {err}", secrets)
            raise NodeError(
                f"sending email through {credential.host}:{credential.port} failed ({detail}); "
                "check the SMTP credential (host, port, security, login)",
                retryable=not isinstance(err, smtplib.SMTPAuthenticationError),
            ) from None
        item: Item = {
            "message_id": message["Message-ID"],
            "accepted": [r for r in recipients if r not in refused],
            "refused": {
                r: f"{code} {reason.decode(errors='replace')}"
                for r, (code, reason) in refused.items()
            },
        }
        return NodeOutput.main([item])


def _build(params: EmailSendParams, credential: SmtpCredential, key: str) -> EmailMessage:
    sender = params.from_address or credential.from_address or credential.username
    if not sender:
        raise NodeError("set 'from_address' on the node or on the SMTP credential")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(params.to)
    if params.cc:
        message["Cc"] = ", ".join(params.cc)
    if params.reply_to:
        message["Reply-To"] = params.reply_to
    message["Subject"] = params.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = _domain(sender)
    message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    message.set_content(params.text or "")
    if params.html:
        message.add_alternative(params.html, subtype="html")
    for attachment in params.attachments:
        try:
            data = base64.b64decode(attachment.content_base64, validate=True)
        except binascii.Error as err:
            raise NodeError(f"attachment '{attachment.filename}' is not valid base64") from err
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            data, maintype=maintype, subtype=subtype or "octet-stream", filename=attachment.filename
        )
    return message


def _domain(sender: str) -> str:
    addresses = getaddresses([sender])
    address = addresses[0][1] if addresses else sender
    try:
        return Address(addr_spec=address).domain or "reporunner.local"
    except (ValueError, IndexError):
        return "reporunner.local"


class _PinnedSMTP(smtplib.SMTP):
    """SMTP to a checked address; the host name stays for EHLO and STARTTLS certificates."""

    def __init__(self, address: str, **kwargs: Any) -> None:
        self._address = address
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return super()._get_socket(self._address, port, timeout)  # type: ignore[misc,no-any-return]


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    """Implicit-TLS SMTP to a checked address; the certificate is checked for the host name."""

    def __init__(self, address: str, **kwargs: Any) -> None:
        self._address = address
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        plain = socket.create_connection((self._address, port), timeout)
        return self.context.wrap_socket(plain, server_hostname=host)


def _deliver(
    credential: SmtpCredential,
    address: str,
    message: EmailMessage,
    recipients: list[str],
    params: EmailSendParams,
) -> dict[str, tuple[int, bytes]]:
    """Blocking SMTP conversation (run in a thread) with ``address``, the checked address of
    the credential's host. Returns the refused recipients."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if credential.security == "tls":
        smtp = _PinnedSMTPSSL(address, timeout=params.timeout, context=context)
    else:
        smtp = _PinnedSMTP(address, timeout=params.timeout)
    smtp.connect(credential.host, credential.port)
    with smtp:
        smtp.ehlo()
        if credential.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if credential.username:
            password = credential.password.get_secret_value() if credential.password else ""
            smtp.login(credential.username, password)
        return smtp.send_message(message, to_addrs=recipients)
