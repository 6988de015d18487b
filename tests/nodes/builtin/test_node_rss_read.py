"""``rss.read`` against feeds served by a local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _action_peers import LocalHTTPServer, Reply, Seen, guarded_ctx

from reporunner.nodes.builtin.rss_read import RssRead
from reporunner.nodes.errors import NodeError, SSRFBlockedError
from reporunner.nodes.testing import run_node

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Eng blog</title>
<item><title>First</title><link>https://blog.example/1</link><guid>post-1</guid>
<description>Short &amp; sweet</description>
<content:encoded><![CDATA[<p>Full</p>]]></content:encoded>
<pubDate>Tue, 10 Jun 2025 04:00:00 GMT</pubDate><category>a</category><category>b</category>
<dc:creator>Ann</dc:creator>
<enclosure url="https://blog.example/1.mp3" length="10" type="audio/mpeg"/></item>
<item><title>Second</title><link>https://blog.example/2</link></item>
<item><title>Third</title></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom feed</title>
<entry><title>Hello</title><id>urn:1</id>
<link rel="self" href="https://a.example/self"/><link href="https://a.example/hello"/>
<updated>2025-06-10T08:00:00Z</updated><summary>Sum</summary>
<author><name>Bo</name></author><category term="news"/></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://r.example"><title>RDF feed</title></channel>
<item rdf:about="https://r.example/x"><title>X</title><link>https://r.example/x</link></item>
</rdf:RDF>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss><channel><title>&lol3;</title></channel></rss>"""

FEEDS = {
    "/rss": (RSS2, "application/rss+xml"),
    "/atom": (ATOM, "application/atom+xml"),
    "/rdf": (RDF, "application/rdf+xml"),
    "/laughs": (LAUGHS, "application/xml"),
    "/html": (b"<html><body>not a feed</body></html>", "text/html"),
    "/broken": (b"<rss><channel>", "application/xml"),
}


def feeds(seen: Seen) -> Reply:
    if seen.path not in FEEDS:
        return Reply(404, b"")
    body, mime = FEEDS[seen.path]
    return Reply(200, body, {"Content-Type": mime})


@pytest.fixture(scope="module")
def server() -> Iterator[LocalHTTPServer]:
    srv = LocalHTTPServer(feeds)
    yield srv
    srv.close()


async def test_rss2_entries(server: LocalHTTPServer) -> None:
    out = await run_node(RssRead, {"url": f"{server.url}/rss", "max_items": 2}, ctx=guarded_ctx())
    first, second = out.ports["main"]
    assert first == {
        "title": "First",
        "link": "https://blog.example/1",
        "id": "post-1",
        "summary": "Short & sweet",
        "content": "<p>Full</p>",
        "author": "Ann",
        "categories": ["a", "b"],
        "published": "2025-06-10T04:00:00+00:00",
        "enclosure": {"url": "https://blog.example/1.mp3", "length": "10", "type": "audio/mpeg"},
        "feed_title": "Eng blog",
    }
    assert second["id"] == "https://blog.example/2"
    assert second["published"] is None


async def test_atom_and_rdf_entries(server: LocalHTTPServer) -> None:
    out = await run_node(RssRead, {"url": f"{server.url}/atom"}, ctx=guarded_ctx())
    [entry] = out.ports["main"]
    assert entry["link"] == "https://a.example/hello"
    assert entry["published"] == "2025-06-10T08:00:00+00:00"
    assert (entry["author"], entry["categories"], entry["feed_title"]) == (
        "Bo",
        ["news"],
        "Atom feed",
    )
    out = await run_node(RssRead, {"url": f"{server.url}/rdf"}, ctx=guarded_ctx())
    assert out.ports["main"][0]["id"] == "https://r.example/x"
    assert out.ports["main"][0]["feed_title"] == "RDF feed"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/laughs", "refused unsafe XML"),
        ("/html", "not an RSS or Atom feed (root element <html>)"),
        ("/broken", "not well-formed XML"),
        ("/gone", "answered 404"),
    ],
)
async def test_bad_feeds_fail_clearly(server: LocalHTTPServer, path: str, message: str) -> None:
    with pytest.raises(NodeError) as info:
        await run_node(RssRead, {"url": f"{server.url}{path}"}, ctx=guarded_ctx())
    assert message in info.value.detail
    assert info.value.detail.startswith(f"feed {server.url}{path}")


async def test_feed_on_private_address_is_refused() -> None:
    with pytest.raises(SSRFBlockedError):
        await run_node(RssRead, {"url": "http://192.168.0.10/feed"}, ctx=guarded_ctx())
