"""``http.request``: call any HTTP API, with auth, retries, pagination and binary responses.

The request goes through ``ctx.http``, the engine's SSRF-guarded client, so private addresses
and redirects to them are refused unless the workspace allow-listed them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._http import (
    ResponseFormat,
    RetryPolicy,
    decode_body,
    safe_url,
    send,
)
from reporunner.nodes.builtin._http_auth import AppliedAuth, AuthKind, TokenCache, apply_auth
from reporunner.nodes.builtin._idempotency import item_idempotency_key
from reporunner.nodes.errors import NodeError
from reporunner.nodes.logging import redact

__all__ = ["HttpRequest", "HttpRequestParams", "MultipartFile", "Pagination"]

Scalar = str | int | float | bool


class MultipartFile(BaseModel):
    """A file part of a multipart body."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(description="File name sent in the part's Content-Disposition.")
    content_base64: str = Field(description="The file's bytes, base64-encoded.")
    mime_type: str = Field(
        default="application/octet-stream", description="Content type of the part."
    )


class Pagination(BaseModel):
    """How to fetch the following pages of a paginated API."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["link_header", "body_field", "cursor"] = Field(
        description="'link_header': follow the rel=\"next\" URL of the Link header; "
        "'body_field': follow the URL found at 'next_field' in the JSON body; 'cursor': repeat "
        "the request with query param 'cursor_param' set to the value at 'cursor_field'."
    )
    next_field: str = Field(
        default="next", description="Dotted path of the next-page URL in the body (body_field)."
    )
    cursor_field: str = Field(
        default="next_cursor", description="Dotted path of the next cursor in the body (cursor)."
    )
    cursor_param: str = Field(
        default="cursor", description="Query parameter that carries the cursor (cursor)."
    )
    items_field: str | None = Field(
        default=None,
        description="Dotted path of the list of records in each JSON page; when set, one item "
        "is output per record across all pages instead of one item per page.",
    )
    max_pages: int = Field(
        default=10, ge=1, le=1000, description="Stop after this many pages (a safety bound)."
    )


class HttpRequestParams(BaseModel):
    """Params of ``http.request``."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = Field(
        default="GET", description="HTTP method."
    )
    url: str = Field(min_length=1, description="Absolute http(s) URL to call.")
    query: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Query parameters added to the URL."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    body_type: Literal["none", "json", "form", "multipart", "raw"] = Field(
        default="none",
        description="How 'body' is sent: 'json' (any JSON value), 'form' (object of fields, "
        "urlencoded), 'multipart' (object of text fields and files given as {filename, "
        "content_base64, mime_type}), 'raw' (text sent as is with 'content_type').",
    )
    body: JsonValue = Field(default=None, description="Request body, see 'body_type'.")
    content_type: str = Field(
        default="text/plain; charset=utf-8", description="Content-Type of a 'raw' body."
    )
    auth: AuthKind = Field(
        default="none",
        description="Credential used to authenticate: an 'api_key' (header or query, as the "
        "credential says), a 'bearer_token', 'basic_auth', or 'oauth2_client_credentials' "
        "(a token is fetched from the credential's token URL and sent as a bearer token).",
    )
    timeout: float = Field(
        default=30.0, gt=0, le=600, description="Seconds allowed for each attempt."
    )
    retries: int = Field(
        default=2, ge=0, le=10, description="Extra attempts on 429, 5xx and timeouts."
    )
    retry_backoff: float = Field(
        default=0.5, ge=0, le=60, description="First backoff in seconds; doubles each retry."
    )
    max_retry_wait: float = Field(
        default=30.0,
        ge=0,
        le=300,
        description="Longest wait between attempts, even if Retry-After asks for more.",
    )
    follow_redirects: bool = Field(
        default=True, description="Follow redirects (each hop passes the SSRF guard)."
    )
    response_format: ResponseFormat = Field(
        default="auto",
        description="'json', 'text', 'binary' (base64 with mime type and size) or 'auto' "
        "(by Content-Type).",
    )
    fail_on_error_status: bool = Field(
        default=True, description="Fail the node when the final answer is 4xx or 5xx."
    )
    idempotency_key: bool = Field(
        default=False,
        description="Send an Idempotency-Key header that stays the same when a crashed "
        "execution is resumed, so the API can drop the repeated request.",
    )
    pagination: Pagination | None = Field(
        default=None, description="Fetch following pages too (see Pagination)."
    )


class HttpRequest(Node[HttpRequestParams]):
    """Calls an HTTP API once per input item and outputs the response."""

    type = "http.request"
    category = Category.ACTION
    display_name = "HTTP Request"
    description = (
        "Sends an HTTP request (any method, query, headers, JSON/form/multipart/raw body, auth "
        "from a credential) once per input item and outputs {status, headers, body} per "
        "response; body is parsed JSON, text, or {data (base64), mime_type, size} for binary. "
        "Retries 429/5xx/timeouts with exponential backoff honouring Retry-After, can follow "
        "pagination (Link header, a next URL in the body, or a cursor) and refuses private "
        "addresses (SSRF guard)."
    )
    Params = HttpRequestParams
    inputs = (Port("main", "Each item triggers one request (params may use {{ item }})."),)
    outputs = (Port("main", "One item per response page (or per record with items_field)."),)
    credential_types = ("api_key", "bearer_token", "basic_auth", "oauth2_client_credentials")
    mode = "each"
    example: ClassVar[Mapping[str, Any]] = {
        "method": "GET",
        "url": "https://api.example.com/v1/orders",
        "query": {"status": "open"},
        "auth": "bearer_token",
        "pagination": {"mode": "link_header", "max_pages": 5},
    }

    def __init__(self) -> None:
        self._tokens = TokenCache()

    async def run(
        self, ctx: NodeContext, params: HttpRequestParams, inputs: NodeInputs
    ) -> NodeOutput:
        retry = RetryPolicy(params.retries, params.retry_backoff, params.max_retry_wait)
        auth = await apply_auth(ctx, params.auth, retry, self._tokens)
        request = _request_kwargs(params, auth)
        if params.idempotency_key:
            request["headers"]["Idempotency-Key"] = item_idempotency_key(ctx, inputs)
        url = _start_url(params, auth)
        items: list[Item] = []
        max_pages = params.pagination.max_pages if params.pagination else 1
        for _ in range(max_pages):
            response = await send(
                ctx,
                params.method,
                url,
                retry=retry,
                secrets=auth.secrets,
                auth_headers=auth.headers,
                auth_query=auth.query,
                **request,
            )
            page = _page_item(response, params, auth)
            items.extend(_page_records(page, params.pagination))
            next_url = _next_page(response, page["body"], params.pagination, auth)
            if next_url is None:
                break
            url = next_url
        else:
            if params.pagination:
                ctx.logger.info("stopped after max_pages=%d pages", params.pagination.max_pages)
        return NodeOutput.main(items)


def _start_url(params: HttpRequestParams, auth: AppliedAuth) -> httpx.URL:
    """The URL with ``query`` and an api key merged into any query string it already has.

    (httpx's ``params=`` would replace that query string rather than extend it.)
    """
    try:
        url = httpx.URL(params.url)
    except httpx.InvalidURL as err:
        raise NodeError(f"'url' is not a valid URL: {err}") from err
    query: dict[str, Any] = {k: _query_value(v) for k, v in params.query.items()}
    query |= auth.query
    return url.copy_merge_params(query) if query else url


def _query_value(value: Scalar | list[Scalar]) -> str | list[str]:
    return [_text(v) for v in value] if isinstance(value, list) else _text(value)


def _request_kwargs(params: HttpRequestParams, auth: AppliedAuth) -> dict[str, Any]:
    headers = dict(params.headers) | auth.headers
    kwargs: dict[str, Any] = {
        "headers": headers,
        "timeout": params.timeout,
        "follow_redirects": params.follow_redirects,
    }
    if auth.basic:
        kwargs["auth"] = httpx.BasicAuth(*auth.basic)
    if params.body_type == "none":
        return kwargs
    if params.body_type == "json":
        kwargs["json"] = params.body
    elif params.body_type == "raw":
        headers.setdefault("Content-Type", params.content_type)
        kwargs["content"] = params.body if isinstance(params.body, str) else str(params.body)
    else:
        kwargs.update(_form_body(params))
    return kwargs


def _form_body(params: HttpRequestParams) -> dict[str, Any]:
    if not isinstance(params.body, dict):
        raise NodeError(f"body_type '{params.body_type}' needs 'body' to be an object of fields")
    if params.body_type == "form":
        return {"data": {k: _text(v) for k, v in params.body.items()}}
    data: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for name, value in params.body.items():
        if isinstance(value, dict) and "content_base64" in value:
            part = MultipartFile.model_validate(value)
            try:
                content = base64.b64decode(part.content_base64, validate=True)
            except binascii.Error as err:
                raise NodeError(f"multipart file '{name}' is not valid base64: {err}") from err
            files[name] = (part.filename, content, part.mime_type)
        else:
            data[name] = _text(value)
    return {"data": data, "files": files}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _page_item(response: httpx.Response, params: HttpRequestParams, auth: AppliedAuth) -> Item:
    if params.fail_on_error_status and response.status_code >= 400:
        excerpt = redact(response.text[:300], auth.secrets)
        raise NodeError(
            f"{params.method} {safe_url(response.request.url, auth.secrets)} answered "
            f"{response.status_code} {response.reason_phrase}: {excerpt!r}; set "
            "fail_on_error_status to false to handle error answers downstream",
            retryable=response.status_code >= 500 or response.status_code == 429,
            status_code=response.status_code,
        )
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": decode_body(response, params.response_format),
        "url": safe_url(response.url, auth.secrets),
    }


def _lookup(body: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(body, dict):
            body = body.get(part)
        elif isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            return None
    return body


def _page_records(page: Item, pagination: Pagination | None) -> list[Item]:
    if pagination is None or pagination.items_field is None:
        return [page]
    records = _lookup(page["body"], pagination.items_field)
    if not isinstance(records, list):
        raise NodeError(
            f"pagination.items_field '{pagination.items_field}' is not a list in the response "
            "body; point it at the array of records"
        )
    return [r if isinstance(r, dict) else {"value": r} for r in records]


def _next_page(
    response: httpx.Response,
    body: Any,
    pagination: Pagination | None,
    auth: AppliedAuth,
) -> httpx.URL | None:
    """URL of the next page, or None. Query params are folded into the returned URL."""
    if pagination is None:
        return None
    if pagination.mode == "cursor":
        cursor = _lookup(body, pagination.cursor_field)
        if cursor in (None, ""):
            return None
        return response.request.url.copy_set_param(pagination.cursor_param, str(cursor))
    if pagination.mode == "link_header":
        target = response.links.get("next", {}).get("url")
    else:
        target = _lookup(body, pagination.next_field)
    if not target:
        return None
    # A next link carries its own query; only an api key sent in the query is added back.
    next_url = response.request.url.join(str(target))
    return next_url.copy_merge_params(auth.query) if auth.query else next_url
