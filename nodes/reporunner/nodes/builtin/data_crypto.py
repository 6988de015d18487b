"""``data.crypto``: hashes, HMAC signatures, UUIDs and random strings.

Hashes and HMACs take text (UTF-8) or, for any other JSON value, its compact JSON text with
sorted keys, so the same object always gives the same digest. MD5 and SHA-1 are offered for
checksums and legacy APIs (they are marked not-for-security to keep FIPS builds working); use
SHA-256 or SHA-512 to sign. The HMAC key comes from an ``hmac_secret`` credential and is read
only where it is used: it never appears in params, outputs, logs or error messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import uuid
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import DottedPath, copy_item, fail, set_path, to_json_text
from reporunner.nodes.credentials import HmacSecretCredential
from reporunner.nodes.errors import CredentialError

__all__ = ["Crypto", "CryptoParams"]

TYPE = "data.crypto"

Algorithm = Literal["md5", "sha1", "sha256", "sha512"]

_CHARSETS: dict[str, str] = {
    "alphanumeric": string.ascii_letters + string.digits,
    "letters": string.ascii_letters,
    "digits": string.digits,
    "hex": "0123456789abcdef",
    "url_safe": string.ascii_letters + string.digits + "-_",
}
_DEFAULT_DESTINATION = {"hash": "hash", "hmac": "hmac", "uuid4": "uuid", "random_string": "random"}


class CryptoParams(BaseModel):
    """Params of ``data.crypto``."""

    model_config = ConfigDict(extra="forbid")

    operation: Literal["hash", "hmac", "uuid4", "random_string"] = Field(
        description="'hash': digest of 'value'; 'hmac': HMAC of 'value' keyed by the node's "
        "'hmac_secret' credential; 'uuid4': a random UUID; 'random_string': 'length' random "
        "characters from 'charset' (cryptographically secure)."
    )
    value: Any = Field(
        default=None,
        description="'hash'/'hmac': the data, usually an expression such as '{{ item.body }}'. "
        "Text is hashed as UTF-8; any other value as its compact JSON with sorted keys.",
    )
    algorithm: Algorithm = Field(
        default="sha256",
        description="'hash'/'hmac': md5, sha1, sha256 or sha512 (md5/sha1 for checksums only).",
    )
    encoding: Literal["hex", "base64"] = Field(
        default="hex", description="'hash'/'hmac': output as lowercase hex or standard base64."
    )
    length: int = Field(
        default=32, ge=1, le=4096, description="'random_string': number of characters."
    )
    charset: Literal["alphanumeric", "letters", "digits", "hex", "url_safe"] = Field(
        default="alphanumeric",
        description="'random_string': characters to draw from ('url_safe' adds '-' and '_').",
    )
    destination: DottedPath | None = Field(
        default=None,
        description="Dotted path of the result field; defaults to 'hash', 'hmac', 'uuid' or "
        "'random' after the operation. The item's other fields are kept.",
    )

    @model_validator(mode="after")
    def _value_needed(self) -> CryptoParams:
        if self.operation in ("hash", "hmac") and self.value is None:
            raise ValueError(f"operation '{self.operation}' needs a 'value' to digest")
        return self


def _data(value: Any) -> bytes:
    return (value if isinstance(value, str) else to_json_text(value)).encode("utf-8")


def _encode(digest: bytes, encoding: str) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")


def _hmac_key(ctx: NodeContext) -> bytes:
    credential = ctx.credential("hmac_secret")
    if not isinstance(credential, HmacSecretCredential):
        raise CredentialError(
            f"{TYPE}: operation 'hmac' needs an 'hmac_secret' credential, got a "
            f"{type(credential).__name__}; bind a credential of type 'hmac_secret'"
        )
    return credential.secret.get_secret_value().encode("utf-8")


def compute(ctx: NodeContext, params: CryptoParams) -> str:
    """The operation's result as text."""
    if params.operation == "uuid4":
        return str(uuid.uuid4())
    if params.operation == "random_string":
        alphabet = _CHARSETS[params.charset]
        return "".join(secrets.choice(alphabet) for _ in range(params.length))
    data = _data(params.value)
    if params.operation == "hmac":
        digest = hmac.new(_hmac_key(ctx), data, params.algorithm).digest()
    else:
        digest = hashlib.new(params.algorithm, data, usedforsecurity=False).digest()
    return _encode(digest, params.encoding)


class Crypto(Node[CryptoParams]):
    """Hash, sign, or generate random identifiers."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Crypto"
    description = (
        "Computes one value per input item and writes it to 'destination' (other fields kept): "
        "a hash of 'value' (md5, sha1, sha256, sha512; hex or base64), an HMAC of 'value' "
        "signed with the 'hmac_secret' credential (e.g. to sign outgoing webhooks), a random "
        "UUID v4, or a cryptographically secure random string of 'length' characters. Text is "
        "digested as UTF-8, other values as compact JSON with sorted keys."
    )
    Params = CryptoParams
    mode = "each"
    credential_types = ("hmac_secret",)
    example: ClassVar[dict[str, Any]] = {
        "operation": "hmac",
        "value": "{{ item.body }}",
        "algorithm": "sha256",
        "encoding": "hex",
        "destination": "signature",
    }

    async def run(self, ctx: NodeContext, params: CryptoParams, inputs: NodeInputs) -> NodeOutput:
        """Write the computed value into (a copy of) each item."""
        destination = params.destination or _DEFAULT_DESTINATION[params.operation]
        out: list[Item] = []
        for item in inputs.get("main") or [{}]:
            result, value = copy_item(item), compute(ctx, params)
            try:
                set_path(result, destination, value)
            except ValueError as err:
                raise fail(TYPE, f"destination '{destination}': {err}") from err
            out.append(result)
        return NodeOutput.main(out)
