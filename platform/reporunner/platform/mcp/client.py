"""Our side of MCP servers that agents use: connect with the official SDK, list tools, call one.

The SDK (``mcp.Client`` over ``streamable_http_client``, ``sse_client`` or ``stdio_client``)
speaks the protocol; this module decides *how we reach* a server:

* HTTP transports go through the same SSRF guard as the HTTP Request node. The SDK talks
  ``httpx2``, the guard is an ``httpx`` client, so :class:`_GuardedTransport` is an ``httpx2``
  transport that sends every request (and every redirect hop the SDK follows) through
  :func:`reporunner.nodes.ssrf.guarded_client`: the URL check before any I/O, one DNS lookup
  whose every answer is checked, and a socket opened to exactly those addresses.
* stdio runs only an argv from the operator's allow-list (``REPORUNNER_MCP_STDIO_COMMANDS``);
  the caller hands us that argv, never text from a workflow or an API body.
* Auth comes from a workspace credential, sent as a header (or a query parameter for an
  ``api_key`` credential that says so).

Every operation opens one session, does its work and closes it, bounded by the server's timeout.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

from reporunner.nodes.credentials import (
    ApiKeyCredential,
    BasicAuthCredential,
    BearerTokenCredential,
    CredentialModel,
)
from reporunner.nodes.errors import Problem, ReporunnerError, SSRFBlockedError, ValidationFailed
from reporunner.nodes.ssrf import SSRFPolicy, check_url, guarded_client

__all__ = [
    "AUTH_CREDENTIAL_TYPES",
    "McpConnection",
    "McpServerError",
    "McpToolInfo",
    "auth_for",
    "call_tool",
    "check_mcp_url",
    "list_tools",
    "result_text",
]

Transport = Literal["streamable_http", "sse", "stdio"]

AUTH_CREDENTIAL_TYPES = ("api_key", "basic_auth", "bearer_token")
"""Credential types an MCP server's auth may come from."""

_MAX_TOOLS = 500


class McpServerError(ReporunnerError):
    """An MCP server could not be reached, timed out, or answered with a protocol error."""

    code = "mcp_server_error"
    status = 502


@dataclass(frozen=True, slots=True)
class McpToolInfo:
    """One tool an MCP server lists: its name, description and arguments JSON Schema."""

    name: str
    description: str
    input_schema: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
        }


@dataclass(frozen=True, slots=True)
class McpConnection:
    """How to reach one server (secrets included: never log or return this).

    Attributes:
        name: The server's registered name (for messages).
        transport: ``streamable_http``, ``sse`` or ``stdio``.
        url: Endpoint of the HTTP transports.
        argv: Allow-listed command line of a stdio server.
        headers: Auth headers sent with every HTTP request.
        params: Auth query parameters (an ``api_key`` credential with ``location: query``).
        timeout_s: Upper bound of one operation, connecting included.
        policy: The SSRF policy outbound HTTP must pass.
    """

    name: str
    transport: Transport
    url: str | None = None
    argv: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    params: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float = 30.0
    policy: SSRFPolicy = field(default_factory=SSRFPolicy)


def auth_for(credential: CredentialModel | None) -> tuple[dict[str, str], dict[str, str]]:
    """``(headers, query params)`` that carry ``credential`` to an MCP server.

    Raises:
        ValidationFailed: a credential type MCP auth cannot use.
    """
    if credential is None:
        return {}, {}
    if isinstance(credential, BearerTokenCredential):
        return {"Authorization": f"Bearer {credential.token.get_secret_value()}"}, {}
    if isinstance(credential, ApiKeyCredential):
        value = credential.prefix + credential.api_key.get_secret_value()
        if credential.location == "query":
            return {}, {credential.name: value}
        return {credential.name: value}, {}
    if isinstance(credential, BasicAuthCredential):
        pair = f"{credential.username}:{credential.password.get_secret_value()}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}, {}
    raise ValidationFailed(
        f"an MCP server authenticates with one of {', '.join(AUTH_CREDENTIAL_TYPES)}; "
        f"'{credential.type_name}' cannot be sent to it",
        [Problem("/credential_id", "unsupported_credential", "unsupported credential type")],
    )


def check_mcp_url(url: str, policy: SSRFPolicy) -> None:
    """Refuse an MCP URL the SSRF guard would refuse (before any I/O), naming ``url``.

    Raises:
        ValidationFailed: not http(s), no host, ``localhost``, or a private/loopback/link-local
            IP literal that ``REPORUNNER_MCP_ALLOW_HOSTS`` does not allow.
    """
    try:
        check_url(policy, httpx.URL(url))
    except httpx.InvalidURL as err:
        raise _url_refused(f"'{url}' is not a valid URL ({err})") from None
    except SSRFBlockedError as err:
        raise _url_refused(err.detail) from None


def _url_refused(reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"url: {reason} (an operator can allow private MCP hosts with REPORUNNER_MCP_ALLOW_HOSTS)",
        [Problem("/url", "url_refused", reason)],
    )


class _OriginOnly(logging.Filter):
    """httpx2 logs every request URL; an ``api_key`` credential may sit in its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                f"{a.scheme}://{a.host}{f':{a.port}' if a.port else ''}/..."
                if isinstance(a, httpx2.URL)
                else a
                for a in record.args
            )
        return True


def _hide_urls_in_httpx2_logs() -> None:
    logger = logging.getLogger("httpx2")
    if not any(isinstance(f, _OriginOnly) for f in logger.filters):
        logger.addFilter(_OriginOnly())


class _ResponseStream(httpx2.AsyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.HTTPError as err:
            raise _as_httpx2(err) from err

    async def aclose(self) -> None:
        await self._response.aclose()


def _as_httpx2(err: httpx.HTTPError) -> Exception:
    mapped = getattr(httpx2, type(err).__name__, None)
    if isinstance(mapped, type) and issubclass(mapped, httpx2.TransportError):
        return mapped(str(err))
    return httpx2.TransportError(str(err))


class _GuardedTransport(httpx2.AsyncBaseTransport):
    """An ``httpx2`` transport that sends through the SSRF-guarded ``httpx`` client."""

    def __init__(self, policy: SSRFPolicy) -> None:
        _hide_urls_in_httpx2_logs()
        self._client = guarded_client(policy)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        timeout = request.extensions.get("timeout")
        outgoing = self._client.build_request(
            request.method,
            str(request.url),
            headers=list(request.headers.raw),
            content=body,
            timeout=httpx.Timeout(**timeout) if isinstance(timeout, dict) else None,
        )
        try:
            response = await self._client.send(outgoing, stream=True)
        except httpx.HTTPError as err:
            raise _as_httpx2(err) from err
        return httpx2.Response(
            response.status_code,
            headers=list(response.headers.raw),
            stream=_ResponseStream(response),
            extensions={"http_version": response.http_version.encode()},
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def _http_client(conn: McpConnection, **kwargs: Any) -> httpx2.AsyncClient:
    timeout = kwargs.pop("timeout", None) or httpx2.Timeout(conn.timeout_s)
    headers = {**dict(kwargs.pop("headers", None) or {}), **conn.headers}
    return httpx2.AsyncClient(
        transport=_GuardedTransport(conn.policy),
        headers=headers,
        params=dict(conn.params),
        timeout=timeout,
        trust_env=False,
        **kwargs,
    )


def _transport(conn: McpConnection) -> tuple[Any, AbstractAsyncContextManager[Any] | None]:
    """``(the SDK transport, an HTTP client to close with it)``."""
    if conn.transport == "stdio":
        if not conn.argv:
            raise McpServerError(f"MCP server '{conn.name}' has no stdio command to run")
        params = StdioServerParameters(command=conn.argv[0], args=list(conn.argv[1:]))
        return stdio_client(params), None
    if not conn.url:
        raise McpServerError(f"MCP server '{conn.name}' has no url")
    check_mcp_url(conn.url, conn.policy)
    if conn.transport == "sse":

        def factory(
            headers: dict[str, str] | None = None,
            timeout: httpx2.Timeout | None = None,
            auth: httpx2.Auth | None = None,
        ) -> httpx2.AsyncClient:
            return _http_client(conn, headers=headers, timeout=timeout, auth=auth)

        return sse_client(conn.url, timeout=conn.timeout_s, httpx_client_factory=factory), None
    http = _http_client(conn)
    return streamable_http_client(conn.url, http_client=http), http


def _first_ours(err: BaseException) -> ReporunnerError | None:
    if isinstance(err, ReporunnerError):
        return err
    if isinstance(err, BaseExceptionGroup):
        for inner in err.exceptions:
            found = _first_ours(inner)
            if found is not None:
                return found
    if err.__cause__ is not None and err.__cause__ is not err:
        return _first_ours(err.__cause__)
    return None


def _describe(err: BaseException) -> str:
    while isinstance(err, BaseExceptionGroup) and len(err.exceptions) == 1:
        err = err.exceptions[0]
    return f"{type(err).__name__}: {err}"


class _Session:
    """``async with _Session(conn) as client``: one SDK client session, errors translated."""

    def __init__(self, conn: McpConnection) -> None:
        self._conn = conn
        self._http: AbstractAsyncContextManager[Any] | None = None
        self._client: Client | None = None

    async def __aenter__(self) -> Client:
        transport, self._http = _transport(self._conn)
        self._client = Client(
            transport, read_timeout_seconds=self._conn.timeout_s, cache=None, mode="legacy"
        )
        return await self._client.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        try:
            if self._client is not None:
                await self._client.__aexit__(*exc)
        finally:
            if self._http is not None:
                await self._http.__aexit__(None, None, None)


async def _run(conn: McpConnection, what: str, work: Any) -> Any:
    """Run ``work(client)`` in a fresh session within the server's timeout."""
    try:
        with anyio.fail_after(conn.timeout_s):
            async with _Session(conn) as client:
                return await work(client)
    except TimeoutError:
        raise McpServerError(
            f"MCP server '{conn.name}' did not answer {what} within {conn.timeout_s:g}s "
            "(raise its timeout_s if it is just slow)"
        ) from None
    except MCPError as err:
        raise McpServerError(f"MCP server '{conn.name}' refused {what}: {err}") from None
    except Exception as err:
        ours = _first_ours(err)
        if ours is not None:
            raise ours from None
        raise McpServerError(
            f"MCP server '{conn.name}' could not be reached for {what}: {_describe(err)}"
        ) from None


async def list_tools(conn: McpConnection) -> list[McpToolInfo]:
    """Every tool the server lists (all pages, at most 500).

    Raises:
        McpServerError: unreachable, timed out, or a protocol error.
        ValidationFailed: the URL is refused by the SSRF guard.
    """

    async def work(client: Client) -> list[McpToolInfo]:
        tools: list[McpToolInfo] = []
        cursor: str | None = None
        while len(tools) < _MAX_TOOLS:
            page = await client.list_tools(cursor=cursor)
            for tool in page.tools:
                schema = dict(tool.input_schema or {})
                schema.setdefault("type", "object")
                tools.append(McpToolInfo(tool.name, tool.description or "", schema))
            cursor = page.next_cursor
            if not cursor:
                break
        return tools[:_MAX_TOOLS]

    found: list[McpToolInfo] = await _run(conn, "tools/list", work)
    return found


def result_text(result: CallToolResult) -> str:
    """A tool result as text for a model: text blocks, then structured content if no text."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        else:
            kind = getattr(block, "type", "content")
            mime = getattr(block, "mime_type", None)
            parts.append(f"[{kind}{f' {mime}' if mime else ''} not shown]")
    if not any(isinstance(b, TextContent) for b in result.content) and (
        result.structured_content is not None
    ):
        parts.append(json.dumps(result.structured_content, default=str, ensure_ascii=False))
    return "\n".join(parts)


async def call_tool(
    conn: McpConnection, name: str, arguments: Mapping[str, Any]
) -> tuple[str, bool]:
    """Call tool ``name``; returns ``(result text, is_error)``.

    Raises:
        McpServerError: unreachable, timed out, or a protocol error.
        ValidationFailed: the URL is refused by the SSRF guard.
    """

    async def work(client: Client) -> CallToolResult:
        return await client.call_tool(name, dict(arguments))

    result: CallToolResult = await _run(conn, f"tools/call '{name}'", work)
    return result_text(result), bool(result.is_error)
