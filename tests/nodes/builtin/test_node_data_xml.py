"""Tests of ``data.xml``, including the refusal of XXE and entity-expansion documents."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_xml import XmlConvert
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import run_node

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>News</title>
    <item><title>One</title><dc:creator>Ann</dc:creator></item>
    <empty/>
    <link href="https://example.org" rel="self">see <b>bold</b> here</link>
  </channel>
</rss>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


async def _run(params: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = await run_node(XmlConvert, params, {"main": items})
    return out.ports["main"]


async def test_example_validates_and_runs() -> None:
    [out] = await _run(dict(XmlConvert.example), [{"body": FEED}])
    assert out["body"] == FEED
    assert out["feed"]["rss"]["channel"]["item"] == [{"title": "One", "creator": "Ann"}]


async def test_parse_convention() -> None:
    [out] = await _run({"operation": "parse", "field": "body"}, [{"body": FEED, "id": 1}])
    assert out == {
        "id": 1,
        "body": {
            "rss": {
                "@version": "2.0",
                "channel": {
                    "title": "News",
                    "item": {"title": "One", "creator": "Ann"},
                    "empty": None,
                    "link": {
                        "@href": "https://example.org",
                        "@rel": "self",
                        "b": "bold",
                        "#text": "see  here",
                    },
                },
            }
        },
    }


async def test_repeated_tags_and_namespaces_kept() -> None:
    text = '<a xmlns="urn:x"><i>1</i><i>2</i><i>3</i></a>'
    params = {"operation": "parse", "field": "t", "strip_namespaces": False, "destination": "v"}
    [out] = await _run(params, [{"t": text}])
    assert out["v"] == {"{urn:x}a": {"{urn:x}i": ["1", "2", "3"]}}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (BILLION_LAUGHS, "the document has a DTD (<!DOCTYPE ...>), which is refused"),
        (
            '<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>',
            "the document has a DTD",
        ),
        ("<a><b></a>", "field 'x': not well-formed XML: mismatched tag"),
        ("", "field 'x': not well-formed XML"),
    ],
)
async def test_refused_and_malformed_documents(document: str, message: str) -> None:
    with pytest.raises(NodeError, match=re.escape("data.xml: field 'x': ")) as info:
        await _run({"operation": "parse", "field": "x"}, [{"x": document}])
    assert message in info.value.detail


async def test_xxe_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    document = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]><r>&xxe;</r>'
    )
    with pytest.raises(NodeError, match="DTD") as info:
        await _run({"operation": "parse", "field": "x"}, [{"x": document}])
    assert "TOP-SECRET-VALUE" not in str(info.value)


async def test_parse_needs_text() -> None:
    with pytest.raises(NodeError, match=re.escape("field 'x' must hold XML text, found null")):
        await _run({"operation": "parse", "field": "x"}, [{"x": None}])


async def test_build_round_trips_parse() -> None:
    [parsed] = await _run({"operation": "parse", "field": "body"}, [{"body": FEED}])
    params = {"operation": "build", "field": "body", "declaration": False}
    [built] = await _run(params, [parsed])
    [again] = await _run({"operation": "parse", "field": "xml"}, [{"xml": built["xml"]}])
    # text around <b> is merged into #text, so compare the parts that round-trip exactly
    assert again["xml"]["rss"]["channel"]["item"] == parsed["body"]["rss"]["channel"]["item"]
    assert again["xml"]["rss"]["@version"] == "2.0"


async def test_build_with_root_name_lists_escaping_and_pretty() -> None:
    item = {"user": {"@id": 7, "name": "A & <B>", "tags": ["x", "y"], "ok": True, "no": None}}
    params = {"operation": "build", "root_name": "data", "destination": "out.xml"}
    [out] = await _run(params, [item])
    assert out["out"]["xml"] == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<data><user id="7"><name>A &amp; &lt;B&gt;</name><tags>x</tags><tags>y</tags>'
        "<ok>true</ok><no /></user></data>"
    )
    [out] = await _run({"operation": "build", "root_name": "r", "pretty": True}, [{"a": [1, 2]}])
    assert out["xml"].endswith("<r>\n  <a>1</a>\n  <a>2</a>\n</r>")


@pytest.mark.parametrize(
    ("params", "item", "message"),
    [
        ({}, {"a": 1, "b": 2}, "the item must be an object with exactly one key"),
        ({"root_name": "r"}, {"first name": 1}, "'first name' is not a valid XML element name"),
        ({"root_name": "1r"}, {}, "'1r' is not a valid XML element name"),
        ({"field": "nope"}, {}, "the item has no field 'nope'"),
        ({"root_name": "r"}, {"a": "x\x00y"}, "contains the character '\\x00', which XML 1.0"),
    ],
)
async def test_build_errors(params: dict[str, Any], item: dict[str, Any], message: str) -> None:
    with pytest.raises(NodeError, match=re.escape(message)):
        await _run({"operation": "build", **params}, [item])


async def test_absurd_nesting_is_refused() -> None:
    text = "<a>" * 5000 + "</a>" * 5000
    with pytest.raises(NodeError, match="elements nest more than 100 levels deep"):
        await _run({"operation": "parse", "field": "t"}, [{"t": text}])
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(150):
        cursor["a"] = {}
        cursor = cursor["a"]
    with pytest.raises(NodeError, match="nests more than 100 levels deep"):
        await _run({"operation": "build", "root_name": "r"}, [deep])


def test_parse_needs_field() -> None:
    with pytest.raises(ValidationError, match="needs 'field'"):
        XmlConvert.Params.model_validate({"operation": "parse"})
