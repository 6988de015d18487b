"""``postgres.query``: run one SQL statement with bound parameters and output its rows.

The SQL text is a *literal* param: the engine never renders ``{{ ... }}`` in it, and a ``{{`` in
it is refused, so values reach the database only as bound parameters (``%s`` / ``%(name)s``,
psycopg's server-side binding) and never by string building. Each run is one transaction with
a ``statement_timeout``; ``read_only`` runs it in a read-only transaction.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.credentials import PostgresDsnCredential, secret_values
from reporunner.nodes.errors import CredentialError, NodeError
from reporunner.nodes.hostguard import HostGuard, host_guard
from reporunner.nodes.logging import redact

__all__ = ["PostgresQuery", "PostgresQueryParams"]


class PostgresQueryParams(BaseModel):
    """Params of ``postgres.query``."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        min_length=1,
        description="One SQL statement with placeholders: %s (positional, 'parameters' is a "
        "list) or %(name)s (named, 'parameters' is an object). Never rendered: put values in "
        "'parameters', e.g. \"SELECT * FROM users WHERE id = %(id)s\".",
    )
    parameters: list[JsonValue] | dict[str, JsonValue] = Field(
        default_factory=list,
        description="Values bound to the placeholders; may use expressions such as "
        "'{{ item.id }}'. Objects and arrays are sent as JSON.",
    )
    statement_timeout_ms: int = Field(
        default=30_000, ge=1, le=3_600_000, description="Cancel the statement after this long."
    )
    read_only: bool = Field(
        default=False, description="Run in a read-only transaction (refuses writes)."
    )
    max_rows: int = Field(
        default=10_000, ge=1, le=1_000_000, description="Fail if the result has more rows."
    )

    @field_validator("query")
    @classmethod
    def _no_expressions(cls, value: str) -> str:
        if "{{" in value:
            raise ValueError(
                "the SQL text may not contain '{{': pass values through 'parameters' and "
                "refer to them with %s or %(name)s placeholders"
            )
        return value


class PostgresQuery(Node[PostgresQueryParams]):
    """Runs a parameterised SQL statement once per input item."""

    type = "postgres.query"
    category = Category.ACTION
    display_name = "Postgres query"
    description = (
        "Runs one SQL statement against the PostgreSQL database of a 'postgres_dsn' credential, "
        "once per input item, with values passed only as bound parameters (%s or %(name)s). "
        "Outputs one item per result row (column -> value; numerics as strings, timestamps as "
        "ISO 8601, bytea as base64), or {rowcount} for statements that return no rows."
    )
    Params = PostgresQueryParams
    inputs = (Port("main", "Each item runs the statement once ({{ item }} in parameters)."),)
    outputs = (Port("main", "Result rows, or one {rowcount} item."),)
    credential_types = ("postgres_dsn",)
    mode = "each"
    literal_params = frozenset({"query"})
    example: ClassVar[Mapping[str, Any]] = {
        "query": "SELECT id, email FROM customers WHERE created_at > %(since)s",
        "parameters": {"since": "{{ item.since }}"},
        "read_only": True,
    }

    async def run(
        self, ctx: NodeContext, params: PostgresQueryParams, inputs: NodeInputs
    ) -> NodeOutput:
        credential = ctx.credential("postgres_dsn")
        if not isinstance(credential, PostgresDsnCredential):
            raise CredentialError(
                f"postgres.query needs a 'postgres_dsn' credential, got {type(credential).__name__}"
            )
        secrets = secret_values(credential)
        dsn = await guarded_dsn(credential.dsn.get_secret_value(), host_guard(ctx))
        try:
            rows = await _execute(dsn, params)
        except psycopg.errors.QueryCanceled as err:
            raise NodeError(
                f"the statement was cancelled after statement_timeout_ms="
                f"{params.statement_timeout_ms}; add an index, narrow the query or raise the "
                "timeout",
                retryable=True,
            ) from err
        except psycopg.OperationalError as err:
            raise NodeError(
                f"cannot connect to PostgreSQL: {redact(str(err), secrets)}; check the "
                "'postgres_dsn' credential",
                retryable=True,
            ) from None
        except psycopg.Error as err:
            state = f" [{err.sqlstate}]" if err.sqlstate else ""
            raise NodeError(
                f"PostgreSQL refused the statement{state}: {redact(str(err), secrets)}"
            ) from None
        return NodeOutput.main(rows)


_REFUSED_KEYS = ("service", "servicefile", "passfile", "hostaddr", "sslkey", "sslcert")


async def guarded_dsn(dsn: str, guard: HostGuard) -> str:
    """``dsn`` pinned to an address the guard checked (``hostaddr``; ``host`` stays for TLS).

    Raises:
        CredentialError: the DSN does not parse, or uses a service file, password file, client
            key files or a ``hostaddr`` of its own (files of the server, or a way round the
            check), or a port list.
        SSRFBlockedError: the host is a unix socket, private, loopback, or the platform's own.
    """
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise CredentialError(
            "the 'postgres_dsn' credential is not a valid PostgreSQL URL or connection string"
        ) from None
    refused = [key for key in _REFUSED_KEYS if key in params]
    if refused:
        raise CredentialError(
            f"the 'postgres_dsn' credential may not set {', '.join(refused)}; give the server "
            "as host (and port) only"
        )
    port_text = str(params.get("port") or "5432")
    if not port_text.isdigit():
        raise CredentialError("the 'postgres_dsn' credential must name one port")
    addresses = await guard.addresses(str(params.get("host") or ""), int(port_text))
    if addresses:
        params["hostaddr"] = addresses[0]
    return make_conninfo("", **params)


async def _execute(dsn: str, params: PostgresQueryParams) -> list[Item]:
    bound = _bind(params.parameters)
    connection = await psycopg.AsyncConnection.connect(dsn, row_factory=dict_row)
    async with connection as conn, conn.transaction():
        if params.read_only:
            await conn.execute("SET TRANSACTION READ ONLY")
        await conn.execute(
            "SELECT set_config('statement_timeout', %s, true)",
            [f"{params.statement_timeout_ms}ms"],
        )
        cursor = await conn.execute(params.query, bound or None)
        if cursor.description is None:
            return [{"rowcount": cursor.rowcount}]
        rows = await cursor.fetchmany(params.max_rows + 1)
    if len(rows) > params.max_rows:
        raise NodeError(
            f"the result has more than max_rows={params.max_rows} rows; add a LIMIT or raise "
            "max_rows"
        )
    return [{name: _json_safe(value) for name, value in row.items()} for row in rows]


def _bind(parameters: list[JsonValue] | dict[str, JsonValue]) -> Any:
    """Objects and arrays become JSON (``psycopg.types.json.Jsonb``); scalars bind as they are."""

    def one(value: JsonValue) -> Any:
        return Jsonb(value) if isinstance(value, dict | list) else value

    if isinstance(parameters, dict):
        return {k: one(v) for k, v in parameters.items()}
    return [one(v) for v in parameters]


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(value)
