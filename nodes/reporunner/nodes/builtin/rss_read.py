"""``rss.read``: fetch an RSS 2.0, RSS 1.0 (RDF) or Atom feed and output one item per entry.

The XML is parsed with ``defusedxml`` so that a hostile feed cannot expand entities (billion
laughs) or reach external resources; the fetch goes through the SSRF-guarded ``ctx.http``.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DET
from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._http import RetryPolicy, safe_url, send
from reporunner.nodes.errors import NodeError

__all__ = ["RssRead", "RssReadParams", "parse_feed"]

_ATOM = "{http://www.w3.org/2005/Atom}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


class RssReadParams(BaseModel):
    """Params of ``rss.read``."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, description="URL of the RSS or Atom feed.")
    max_items: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Output at most this many entries (newest first as the feed lists them).",
    )
    timeout: float = Field(default=20.0, gt=0, le=120, description="Seconds per attempt.")
    retries: int = Field(default=2, ge=0, le=10, description="Extra attempts on 429/5xx/timeouts.")


class RssRead(Node[RssReadParams]):
    """Reads a feed and outputs its entries."""

    type = "rss.read"
    category = Category.ACTION
    display_name = "RSS / Atom read"
    description = (
        "Fetches an RSS 2.0, RSS 1.0 or Atom feed (once per input item) and outputs one item "
        "per entry: {title, link, id, summary, content, author, categories, published (ISO "
        "8601 or null), feed_title}. Entity expansion and external references are refused."
    )
    Params = RssReadParams
    inputs = (Port("main", "Each item triggers one fetch (the URL may use {{ item }})."),)
    outputs = (Port("main", "One item per feed entry."),)
    mode = "each"
    example: ClassVar[Mapping[str, Any]] = {"url": "https://blog.example.com/feed.xml"}

    async def run(self, ctx: NodeContext, params: RssReadParams, inputs: NodeInputs) -> NodeOutput:
        retry = RetryPolicy(retries=params.retries)
        response = await send(
            ctx, "GET", params.url, retry=retry, timeout=params.timeout, follow_redirects=True
        )
        where = safe_url(params.url)
        if response.status_code >= 400:
            raise NodeError(
                f"feed {where} answered {response.status_code}; check the URL",
                retryable=response.status_code >= 500,
            )
        try:
            entries = parse_feed(response.content)
        except NodeError as err:
            raise NodeError(f"feed {where}: {err.detail}") from err
        return NodeOutput.main(entries[: params.max_items])


def parse_feed(data: bytes) -> list[Item]:
    """Entries of an RSS 2.0 / RSS 1.0 / Atom document.

    Raises:
        NodeError: not well-formed XML, forbidden XML constructs, or not a feed.
    """
    try:
        root = DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as err:
        raise NodeError(f"refused unsafe XML ({err})") from err
    except ParseError as err:
        raise NodeError(f"not well-formed XML ({err})") from err
    if root.tag == f"{_ATOM}feed":
        title = _text(root.find(f"{_ATOM}title"))
        return [_atom_entry(e, title) for e in root.findall(f"{_ATOM}entry")]
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise NodeError("an <rss> document without <channel>")
        title = _text(channel.find("title"))
        return [_rss_item(i, title, "") for i in channel.findall("item")]
    if root.tag.endswith("RDF"):
        title = _text(root.find(f"{_RSS1}channel/{_RSS1}title"))
        return [_rss_item(i, title, _RSS1) for i in root.findall(f"{_RSS1}item")]
    raise NodeError(f"not an RSS or Atom feed (root element <{root.tag}>)")


def _text(element: Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


def _rss_item(item: Element, feed_title: str | None, ns: str) -> Item:
    link = _text(item.find(f"{ns}link"))
    guid = _text(item.find("guid")) or item.get(
        "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
    )
    enclosure = item.find("enclosure")
    return {
        "title": _text(item.find(f"{ns}title")),
        "link": link,
        "id": guid or link,
        "summary": _text(item.find(f"{ns}description")),
        "content": _text(item.find(f"{_CONTENT}encoded")),
        "author": _text(item.find("author")) or _text(item.find(f"{_DC}creator")),
        "categories": [c for c in (_text(e) for e in item.findall("category")) if c],
        "published": _date(_text(item.find("pubDate")) or _text(item.find(f"{_DC}date"))),
        "enclosure": dict(enclosure.attrib) if enclosure is not None else None,
        "feed_title": feed_title,
    }


def _atom_entry(entry: Element, feed_title: str | None) -> Item:
    link = None
    for candidate in entry.findall(f"{_ATOM}link"):
        if candidate.get("rel", "alternate") == "alternate":
            link = candidate.get("href")
            break
    return {
        "title": _text(entry.find(f"{_ATOM}title")),
        "link": link,
        "id": _text(entry.find(f"{_ATOM}id")) or link,
        "summary": _text(entry.find(f"{_ATOM}summary")),
        "content": _text(entry.find(f"{_ATOM}content")),
        "author": _text(entry.find(f"{_ATOM}author/{_ATOM}name")),
        "categories": [c.get("term") for c in entry.findall(f"{_ATOM}category") if c.get("term")],
        "published": _date(
            _text(entry.find(f"{_ATOM}published")) or _text(entry.find(f"{_ATOM}updated"))
        ),
        "enclosure": None,
        "feed_title": feed_title,
    }
