"""Every HTTP request litellm makes goes through the SSRF guard.

litellm builds its HTTP clients itself, in two places: ``litellm.aclient_session`` (handed to
the OpenAI and Azure SDK clients, which every OpenAI-compatible provider uses) and
``AsyncHTTPHandler.create_client`` (every other provider: Anthropic, Ollama, Bedrock,
embeddings...). :func:`install` points both at one transport that dispatches to a
:func:`~reporunner.nodes.ssrf.guarded_transport` per event loop and policy, so a model's
``api_base`` (whoever chose it) is checked before any I/O and again at connect time, like an
HTTP Request node's URL. Synchronous clients are refused outright (our AI features are async;
a sync request would bypass the guard). The ``aiohttp_openai`` provider talks through its own
aiohttp session; callers refuse the names in :data:`refused_providers`.

It lives beside the guard (not in ``agents``) because both the agents' LLM client and the
knowledge part's litellm embedder need it, and ``knowledge`` may not import ``agents``.

What the guard lets through is the operator's business: :func:`configure` takes the hosts that
may be private (``REPORUNNER_LLM_ALLOW_HOSTS``) and the operator's own base URL
(``REPORUNNER_LLM_API_BASE``), whose host is trusted too.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import httpx

from reporunner.nodes.errors import SSRFBlockedError
from reporunner.nodes.ssrf import SSRFPolicy, guarded_transport

__all__ = ["configure", "current_policy", "guard_litellm", "refused_providers"]

refused_providers = frozenset({"aiohttp_openai"})
"""Providers whose HTTP does not go through litellm's httpx clients (so not through the guard)."""

_state: dict[str, SSRFPolicy] = {"policy": SSRFPolicy()}
_lock = threading.Lock()


def configure(allow_hosts: Iterable[str] = (), trusted_api_base: str | None = None) -> None:
    """Set what LLM and embedding calls may reach besides public addresses.

    Args:
        allow_hosts: Host names (``*.suffix`` too), IPs or CIDRs the operator allows although
            they are private or loopback (a local Ollama or vLLM server).
        trusted_api_base: The operator's own base URL; its host is allowed as well.
    """
    hosts = [h.strip() for h in allow_hosts if h.strip()]
    if trusted_api_base:
        host = httpx.URL(trusted_api_base).host
        if host:
            hosts.append(host)
    with _lock:
        _state["policy"] = SSRFPolicy(allow_hosts=tuple(dict.fromkeys(hosts)))


def current_policy() -> SSRFPolicy:
    """The policy LLM and embedding requests pass now."""
    return _state["policy"]


class _LLMTransport(httpx.AsyncBaseTransport):
    """One guarded transport per (event loop, policy): pooled connections never cross loops
    (tests and ``asyncio.run`` callers make several), and a narrower policy never reuses a
    connection opened under a wider one."""

    def __init__(self) -> None:
        self._pools: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[SSRFPolicy, httpx.AsyncBaseTransport]
        ] = weakref.WeakKeyDictionary()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        policy = current_policy()
        with _lock:
            by_policy = self._pools.setdefault(loop, {})
            transport = by_policy.get(policy)
            if transport is None:
                transport = by_policy[policy] = guarded_transport(policy)
        return await transport.handle_async_request(request)


class _RefuseSync(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise SSRFBlockedError(
            f"refused to connect to '{request.url.host}': synchronous LLM requests cannot pass "
            "the SSRF guard; use the async client",
            host=request.url.host,
            reason="synchronous request",
        )


_TRANSPORT = _LLMTransport()


def _async_client(timeout: Any, event_hooks: Any, follow_redirects: bool) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=_TRANSPORT,
        timeout=timeout if timeout is not None else httpx.Timeout(600.0, connect=5.0),
        event_hooks=event_hooks,
        follow_redirects=follow_redirects,
        trust_env=False,
    )


_installed: list[ModuleType] = []


def guard_litellm() -> ModuleType:
    """The ``litellm`` module with all of its HTTP routed through the guard.

    Imports litellm on first use (with its bundled, offline price map) and installs the guard
    once; every caller that reaches litellm goes through here.
    """
    if _installed:
        return _installed[0]
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    with _lock:
        if not _installed:
            _install(litellm)
            _installed.append(litellm)
    return _installed[0]


def _install(litellm: Any) -> None:  # the module; Any: its settings are plain attributes
    from litellm.llms.custom_httpx import http_handler

    litellm.disable_aiohttp_transport = True
    litellm.aclient_session = _async_client(None, None, follow_redirects=False)
    litellm.client_session = httpx.Client(transport=_RefuseSync(), trust_env=False)

    def create_async(
        self: Any,
        timeout: Any,
        event_hooks: Any,
        ssl_verify: Any = None,
        shared_session: Any = None,
    ) -> httpx.AsyncClient:
        return _async_client(timeout, event_hooks, bool(getattr(self, "follow_redirects", False)))

    def create_sync(self: Any, *args: Any, **kwargs: Any) -> httpx.Client:
        return httpx.Client(transport=_RefuseSync(), trust_env=False)

    http_handler.AsyncHTTPHandler.create_client = create_async  # type: ignore[method-assign]
    http_handler.HTTPHandler.create_client = create_sync  # type: ignore[method-assign]
