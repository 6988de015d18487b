"""Credential types: secrets masked everywhere; redaction of logs from a failing node."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, NoParams
from reporunner.nodes.credentials import (
    CREDENTIAL_TYPES,
    BasicAuthCredential,
    BearerTokenCredential,
    CredentialModel,
    PostgresDsnCredential,
    RedisUrlCredential,
    SmtpCredential,
    get_credential_type,
    secret_values,
)
from reporunner.nodes.errors import CredentialError, NodeError
from reporunner.nodes.logging import RedactingFilter, RedactingLoggerAdapter, redact
from reporunner.nodes.testing import NodeTestContext, run_node

SECRET = "s3cr3t-Value-42"
DSN_PASSWORD = "pg-Pa55word"


def test_every_type_is_registered_under_its_name() -> None:
    assert set(CREDENTIAL_TYPES) == {
        "api_key",
        "bearer_token",
        "basic_auth",
        "oauth2_client_credentials",
        "smtp",
        "postgres_dsn",
        "redis_url",
        "hmac_secret",
        "webhook_url",
    }
    for name, cls in CREDENTIAL_TYPES.items():
        assert cls.type_name == name
        assert issubclass(cls, CredentialModel)
        assert get_credential_type(name) is cls


def test_unknown_type_suggests_the_closest() -> None:
    with pytest.raises(CredentialError, match=r"'bearer_tokn' \(did you mean 'bearer_token'\?\)"):
        get_credential_type("bearer_tokn")


def test_secret_never_in_repr_str_or_json() -> None:
    cred = BasicAuthCredential(username="ada", password=SECRET)
    for text in (repr(cred), str(cred), cred.model_dump_json(), f"{cred}", str(cred.model_dump())):
        assert SECRET not in text
    assert "ada" in cred.model_dump_json()
    assert cred.password.get_secret_value() == SECRET


def test_validation_errors_hide_the_input() -> None:
    with pytest.raises(ValidationError) as info:
        SmtpCredential.model_validate({"host": "mail", "port": SECRET, "password": SECRET})
    assert SECRET not in str(info.value)
    with pytest.raises(ValidationError) as info:
        BearerTokenCredential.model_validate({"token": SECRET, "unexpected": SECRET})
    assert SECRET not in str(info.value)


def test_secret_values_include_passwords_inside_urls_and_conninfo() -> None:
    url_dsn = PostgresDsnCredential(dsn=f"postgresql://app:{DSN_PASSWORD}@db:5432/app")
    assert secret_values(url_dsn) == [url_dsn.dsn.get_secret_value(), DSN_PASSWORD]
    conninfo = PostgresDsnCredential(dsn=f"host=db user=app password='{DSN_PASSWORD}' dbname=x")
    assert DSN_PASSWORD in secret_values(conninfo)
    redis = RedisUrlCredential(url="redis://localhost:6379/0")
    assert secret_values(redis) == ["redis://localhost:6379/0"]
    assert secret_values(SmtpCredential(host="mail")) == []


def test_redact_masks_longest_first() -> None:
    assert redact("a=abcdef b=abc", ["abc", "abcdef"]) == "a=********** b=**********"


class _LeakyNode(Node[NoParams]):
    """A careless node: logs its token, the credential and fails quoting both."""

    type = "test.leaky"
    category = Category.ACTION
    display_name = "Leaky"
    description = "Fails while logging its secrets, to prove redaction."

    async def run(self, ctx: NodeContext, params: NoParams, inputs: NodeInputs) -> NodeOutput:
        cred = ctx.credential("bearer_token")
        assert isinstance(cred, BearerTokenCredential)
        token = cred.token.get_secret_value()
        ctx.logger.info("calling API with %s and credential %r", token, cred)
        try:
            raise RuntimeError(f"upstream rejected token {token}")
        except RuntimeError:
            ctx.logger.exception("request failed")
        raise NodeError(f"request failed for credential {cred!r}")


async def test_failing_node_logs_and_error_carry_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cred = BearerTokenCredential(token=SECRET)
    logger = logging.getLogger("reporunner.test.leaky")
    ctx = NodeTestContext(
        credentials={"bearer_token": cred},
        logger=RedactingLoggerAdapter(logger, secret_values(cred), {"node_id": "leaky"}),  # type: ignore[arg-type]
    )
    caplog.set_level(logging.INFO, logger="reporunner.test.leaky")
    with pytest.raises(NodeError) as info:
        await run_node(_LeakyNode, {}, {"main": [{}]}, ctx)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert len(caplog.records) == 2
    assert "upstream rejected token **********" in caplog.text
    assert all(record.node_id == "leaky" for record in caplog.records)  # type: ignore[attr-defined]
    for record in caplog.records:
        assert SECRET not in record.getMessage()
    assert SECRET not in caplog.text


def test_redacting_filter_on_a_handler(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("reporunner.test.filter")
    caplog.set_level(logging.INFO, logger="reporunner.test.filter")
    caplog.handler.addFilter(RedactingFilter([SECRET]))
    try:
        logger.info("token=%s", SECRET)
        try:
            raise ValueError(SECRET)
        except ValueError:
            logger.exception("boom %s", "x")
    finally:
        caplog.handler.filters.clear()
    assert "token=**********" in caplog.text
    assert "ValueError: **********" in caplog.text
    assert SECRET not in caplog.text
