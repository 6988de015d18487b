"""``reporunner chat AGENT_OR_WORKFLOW``: an interactive terminal chat that streams.

It talks to a running server (``--url``, default ``http://127.0.0.1:8000``; API key from
``--api-key`` or ``REPORUNNER_API_KEY``) through ``/chats``, so turns, memories and history are
the same as in any other client. The target is a workflow id (a workflow with a Chat trigger),
a JSON/YAML file holding an agent configuration, or an agent name (an agent with the server's
default model). ``--message`` sends one message and exits (scripts); ``--chat`` continues a
thread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx

from reporunner.nodes.errors import ConfigurationError, NotFoundError, ReporunnerError

__all__ = ["ChatFailed", "add_parser", "chat_session", "cmd_chat"]

_EXIT_WORDS = {"/exit", "/quit", ":q"}


class ChatFailed(ReporunnerError):
    """The server refused the chat or a turn failed; the message carries its reason."""

    code = "chat_failed"
    status = 502


def add_parser(sub: Any) -> None:
    p = sub.add_parser("chat", help="chat with an agent or a chat workflow (streams answers)")
    p.add_argument(
        "target",
        metavar="AGENT_OR_WORKFLOW",
        help="workflow id, agent config file (.json/.yaml), or an agent name",
    )
    p.add_argument("--url", default=os.environ.get("REPORUNNER_URL", "http://127.0.0.1:8000"))
    p.add_argument("--api-key", default=None, help="API key (default: $REPORUNNER_API_KEY)")
    p.add_argument("--chat", default=None, metavar="CHAT_ID", help="continue this chat")
    p.add_argument("--user", default="", metavar="END_USER", help="end user id (memories)")
    p.add_argument("--message", "-m", default=None, help="send one message and exit")
    p.set_defaults(handler=cmd_chat)


def _agent_body(target: str) -> dict[str, Any]:
    """The ``POST /chats`` body for ``target``."""
    try:
        return {"workflow_id": str(uuid.UUID(target))}
    except ValueError:
        pass
    path = Path(target)
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        if not path.is_file():
            raise NotFoundError(f"no such agent configuration file: {path}")
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            config = json.loads(text)
        else:
            import yaml

            config = yaml.safe_load(text)
        if not isinstance(config, dict):
            raise ConfigurationError(f"{path} must hold an agent configuration object")
        agent_id = str(config.pop("agent_id", path.stem))
        return {"agent_id": agent_id, "agent": config, "title": path.stem}
    return {"agent_id": target, "agent": {}, "title": target}


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("detail") or body)


async def _events(
    client: httpx.AsyncClient, chat_id: str, text: str
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    async with client.stream(
        "POST", f"/chats/{chat_id}/messages", json={"content": text}, timeout=None
    ) as response:
        if response.status_code != 200:
            await response.aread()
            raise ChatFailed(f"the server answered {response.status_code}: {_detail(response)}")
        name, data = "message", ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif not line.strip() and data:
                yield name, json.loads(data)
                name, data = "message", ""
        if data:
            yield name, json.loads(data)


def _show(event: str, data: dict[str, Any], out: TextIO) -> None:
    if event == "token":
        out.write(str(data.get("text", "")))
    elif event == "tool_call":
        out.write(f"\n  → {data.get('tool')}({data.get('arguments') or ''})\n")
    elif event == "tool_result":
        status = "ok" if data.get("ok") else f"error: {data.get('error')}"
        out.write(f"  ← {data.get('tool')}: {status}\n")
    elif event == "citations":
        for n, c in enumerate(data.get("citations", []), start=1):
            where = ", ".join(
                str(x) for x in (c.get("document_name"), c.get("page") and f"p. {c['page']}") if x
            )
            out.write(f"\n  [{n}] {where}")
    elif event == "error":
        out.write(f"\n[error] {data.get('detail')}")
    out.flush()


async def _start(client: httpx.AsyncClient, target: str, end_user: str) -> str:
    body = {**_agent_body(target), **({"end_user_id": end_user} if end_user else {})}
    created = await client.post("/chats", json=body)
    if created.status_code != 201:
        raise ChatFailed(f"could not start the chat ({created.status_code}): {_detail(created)}")
    return str(created.json()["id"])


async def _turn(client: httpx.AsyncClient, chat_id: str, text: str, out: TextIO) -> str | None:
    """Stream one turn to ``out``; the error detail if the turn failed."""
    failed: str | None = None
    async for event, data in _events(client, chat_id, text):
        _show(event, data, out)
        if event == "error":
            failed = str(data.get("detail"))
    out.write("\n")
    return failed


def _prompts(read: Callable[[str], str]) -> Iterator[str]:
    """Non-empty lines the user types until /exit or end of input."""
    while True:
        try:
            text = read("you> ").strip()
        except EOFError:
            return
        if text in _EXIT_WORDS:
            return
        if text:
            yield text


async def chat_session(
    client: httpx.AsyncClient,
    target: str,
    *,
    chat_id: str | None = None,
    end_user: str = "",
    message: str | None = None,
    read: Callable[[str], str] = input,
    out: TextIO = sys.stdout,
) -> str:
    """Create (or continue) a chat and run turns until the user leaves; returns the chat id.

    Raises:
        ChatFailed: the server refused the chat, or the one ``message`` turn failed.
    """
    if chat_id is None:
        chat_id = await _start(client, target, end_user)
        if message is None:
            out.write(f"chat {chat_id} — type /exit to leave\n")
    if message is not None:
        failed = await _turn(client, chat_id, message, out)
        if failed is not None:
            raise ChatFailed(failed)
        return chat_id
    for text in _prompts(read):
        await _turn(client, chat_id, text, out)
    return chat_id


def cmd_chat(args: argparse.Namespace) -> int:
    key = args.api_key or os.environ.get("REPORUNNER_API_KEY")
    if not key:
        raise ConfigurationError(
            "reporunner chat needs an API key: pass --api-key or set REPORUNNER_API_KEY"
        )

    async def main() -> str:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=args.url, headers=headers) as client:
            try:
                return await chat_session(
                    client,
                    args.target,
                    chat_id=args.chat,
                    end_user=args.user,
                    message=args.message,
                )
            except httpx.ConnectError as err:
                raise ChatFailed(
                    f"no reporunner server at {args.url} ({err}); start one with "
                    "`reporunner serve` or pass --url"
                ) from err

    asyncio.run(main())
    return 0
