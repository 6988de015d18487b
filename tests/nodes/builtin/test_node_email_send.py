"""``email.send`` against a real local SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import base64
import email
import email.policy
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr, ValidationError

from reporunner.nodes.builtin.email_send import EmailSend
from reporunner.nodes.credentials import SmtpCredential
from reporunner.nodes.errors import NodeError
from reporunner.nodes.hostguard import HOST_GUARD, HostGuard
from reporunner.nodes.ssrf import SSRFPolicy
from reporunner.nodes.testing import NodeTestContext, run_node

PASSWORD = "smtp-SECRET-pass-42"


@dataclass
class Mailbox:
    """aiosmtpd handler that keeps every delivered message."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"mailer"
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    yield mailbox, port
    controller.stop()


def _ctx(port: int, password: str = PASSWORD, **kwargs: Any) -> NodeTestContext:
    cred = SmtpCredential(
        host="127.0.0.1",
        port=port,
        username="mailer",
        password=SecretStr(password),
        security="none",
        from_address="Reports <reports@example.org>",
    )
    guard = HostGuard(SSRFPolicy(allow_hosts=("127.0.0.1",)))  # the operator allows the test's
    return NodeTestContext(credentials={"smtp": cred}, services={HOST_GUARD: guard}, **kwargs)


async def test_sends_text_html_attachment_with_cc_and_bcc(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    params = {
        "to": "Ann <ann@example.com>",
        "cc": ["cy@example.com"],
        "bcc": ["audit@example.com"],
        "subject": "Weekly report",
        "text": "See attached.",
        "html": "<p>See <b>attached</b>.</p>",
        "reply_to": "help@example.org",
        "attachments": [
            {
                "filename": "r.csv",
                "content_base64": base64.b64encode(b"a,b\n1,2\n").decode(),
                "mime_type": "text/csv",
            }
        ],
    }
    ctx = _ctx(port, execution_id="ex-9", node_id="mail")
    out = await run_node(EmailSend, params, ctx=ctx)
    [item] = out.ports["main"]
    assert item["accepted"] == ["ann@example.com", "cy@example.com", "audit@example.com"]
    assert item["refused"] == {}
    rcpts, message = mailbox.received[-1]
    assert rcpts == ["ann@example.com", "cy@example.com", "audit@example.com"]
    assert message["From"] == "Reports <reports@example.org>"
    assert message["To"] == "Ann <ann@example.com>"
    assert message["Cc"] == "cy@example.com"
    assert message["Bcc"] is None, "bcc recipients must not be visible"
    assert message["Message-ID"] == item["message_id"]
    assert message["Message-ID"].endswith("@example.org>")
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None
    assert html is not None
    assert body.get_content().strip() == "See attached."
    assert "<b>attached</b>" in html.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "r.csv"
    assert attachment.get_content() == "a,b\n1,2\n"


async def test_message_id_is_stable_for_a_resumed_execution(smtp: tuple[Mailbox, int]) -> None:
    _, port = smtp
    params = {"to": ["ann@example.com"], "subject": "s", "text": "t"}
    items = {"main": [{"user": 1}, {"user": 2}]}
    first = await run_node(EmailSend, params, items, _ctx(port, execution_id="ex-1"))
    again = await run_node(EmailSend, params, items, _ctx(port, execution_id="ex-1"))
    other = await run_node(EmailSend, params, items, _ctx(port, execution_id="ex-2"))
    ids = [[i["message_id"] for i in o.ports["main"]] for o in (first, again, other)]
    assert ids[0] == ids[1], "a resumed execution re-sends with the same Message-IDs"
    assert ids[0][0] != ids[0][1], "each item's email has its own Message-ID"
    assert set(ids[2]).isdisjoint(ids[0])


async def test_refused_recipient_is_reported(smtp: tuple[Mailbox, int]) -> None:
    _, port = smtp
    params = {"to": ["ann@example.com", "nobody@example.com"], "subject": "s", "text": "t"}
    out = await run_node(EmailSend, params, ctx=_ctx(port))
    [item] = out.ports["main"]
    assert item["accepted"] == ["ann@example.com"]
    assert item["refused"] == {"nobody@example.com": "550 no such user"}


async def test_bad_login_fails_without_leaking_the_password(
    smtp: tuple[Mailbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, port = smtp
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-SECRET-pw-77"
    with pytest.raises(NodeError) as info:
        await run_node(
            EmailSend, {"to": ["a@example.com"], "subject": "s", "text": "t"}, ctx=_ctx(port, wrong)
        )
    assert "SMTPAuthenticationError" in info.value.detail
    assert f"127.0.0.1:{port}" in info.value.detail
    assert not info.value.retryable
    lines = [info.value.detail, repr(info.value), *(r.getMessage() for r in caplog.records)]
    assert all(wrong not in line and PASSWORD not in line for line in lines)


async def test_unreachable_server_is_retryable() -> None:
    port = _free_port()  # nothing listens there any more
    with pytest.raises(NodeError, match="check the SMTP credential") as info:
        await run_node(
            EmailSend, {"to": ["a@example.com"], "subject": "s", "text": "t"}, ctx=_ctx(port)
        )
    assert info.value.retryable


def test_params_need_a_body_and_valid_addresses() -> None:
    with pytest.raises(ValidationError, match="set 'text' or 'html'"):
        EmailSend.Params.model_validate({"to": ["a@example.com"], "subject": "s"})
    with pytest.raises(ValidationError, match="not an email address"):
        EmailSend.Params.model_validate({"to": ["not-an-address"], "subject": "s", "text": "t"})
