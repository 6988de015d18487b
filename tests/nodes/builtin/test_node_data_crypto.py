"""Tests of ``data.crypto``."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from reporunner.nodes.builtin.data_crypto import Crypto
from reporunner.nodes.credentials import BearerTokenCredential, HmacSecretCredential
from reporunner.nodes.errors import CredentialError
from reporunner.nodes.testing import NodeTestContext, run_node

SECRET = "Jefe"  # RFC 4231 test case 2
SECRET_CTX = {"hmac_secret": HmacSecretCredential(secret=SecretStr(SECRET))}


async def _value(
    params: dict[str, Any], item: dict[str, Any] | None = None, ctx: NodeTestContext | None = None
) -> Any:
    out = await run_node(Crypto, params, {"main": [item or {}]}, ctx)
    [result] = out.ports["main"]
    return result


async def test_example_validates_and_runs() -> None:
    params = dict(Crypto.example)
    params["value"] = "what do ya want for nothing?"  # what '{{ item.body }}' renders to
    ctx = NodeTestContext(credentials=SECRET_CTX)
    out = await _value(params, {"id": 1}, ctx)
    assert out == {
        "id": 1,
        "signature": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    }


@pytest.mark.parametrize(
    ("algorithm", "encoding", "expected"),
    [
        ("md5", "hex", "900150983cd24fb0d6963f7d28e17f72"),
        ("sha1", "hex", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("sha256", "hex", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("sha256", "base64", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="),
        (
            "sha512",
            "hex",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ],
)
async def test_hash_vectors(algorithm: str, encoding: str, expected: str) -> None:
    params = {"operation": "hash", "value": "abc", "algorithm": algorithm, "encoding": encoding}
    assert await _value(params) == {"hash": expected}


async def test_objects_hash_as_sorted_compact_json() -> None:
    a = await _value({"operation": "hash", "value": {"b": 1, "a": [2, "é"]}})
    b = await _value({"operation": "hash", "value": '{"a":[2,"é"],"b":1}'})
    assert a == b


async def test_hmac_sha512_rfc4231_into_nested_field() -> None:
    params = {
        "operation": "hmac",
        "value": "what do ya want for nothing?",
        "algorithm": "sha512",
        "encoding": "hex",
        "destination": "sig.value",
    }
    out = await _value(params, ctx=NodeTestContext(credentials=SECRET_CTX))
    assert out["sig"]["value"] == (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    )


async def test_hmac_without_credential_says_what_to_bind() -> None:
    with pytest.raises(CredentialError, match="needs a credential of type 'hmac_secret'"):
        await _value({"operation": "hmac", "value": "x"})
    wrong = NodeTestContext(
        credentials={"hmac_secret": BearerTokenCredential(token=SecretStr("tok-123"))}
    )
    with pytest.raises(CredentialError, match=re.escape("got a BearerTokenCredential")) as info:
        await _value({"operation": "hmac", "value": "x"}, ctx=wrong)
    assert "tok-123" not in str(info.value)


async def test_secret_never_in_output_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = NodeTestContext(credentials=SECRET_CTX)
    out = await _value({"operation": "hmac", "value": "x"}, {"a": 1}, ctx)
    assert SECRET not in repr(out)
    assert SECRET not in caplog.text
    assert SECRET not in repr(ctx.events)


async def test_uuid4() -> None:
    first = (await _value({"operation": "uuid4"}))["uuid"]
    second = (await _value({"operation": "uuid4"}))["uuid"]
    assert uuid.UUID(first).version == 4
    assert first != second


@pytest.mark.parametrize(
    ("charset", "pattern"),
    [
        ("alphanumeric", r"[A-Za-z0-9]{64}"),
        ("letters", r"[A-Za-z]{64}"),
        ("digits", r"[0-9]{64}"),
        ("hex", r"[0-9a-f]{64}"),
        ("url_safe", r"[A-Za-z0-9_-]{64}"),
    ],
)
async def test_random_string(charset: str, pattern: str) -> None:
    params = {"operation": "random_string", "length": 64, "charset": charset}
    first = (await _value(params))["random"]
    second = (await _value(params))["random"]
    assert re.fullmatch(pattern, first)
    assert first != second


async def test_one_value_per_item() -> None:
    out = await run_node(Crypto, {"operation": "uuid4"}, {"main": [{"n": 1}, {"n": 2}]})
    uuids = [item["uuid"] for item in out.ports["main"]]
    assert len(set(uuids)) == 2
    assert [item["n"] for item in out.ports["main"]] == [1, 2]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"operation": "hash"}, "needs a 'value'"),
        ({"operation": "hash", "value": "x", "algorithm": "crc32"}, "algorithm"),
        ({"operation": "random_string", "length": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_params_are_refused(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Crypto.Params.model_validate(params)
