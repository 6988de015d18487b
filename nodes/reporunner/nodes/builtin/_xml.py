"""Private XML <-> value mapping of ``data.xml`` (the convention xmltodict made familiar).

An element becomes ``{tag: content}``. Content is the element's text when it has neither
attributes nor children (``None`` when empty); otherwise an object whose ``@name`` keys are the
attributes, ``#text`` the text (whitespace-only text is dropped) and other keys the children,
a tag that repeats becoming a list. Building reverses the mapping. Parsing goes through
defusedxml with DTDs, entities and external references refused, which rules out XXE and
entity-expansion ("billion laughs") documents before any expansion happens.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # building and ParseError only; parsing uses defusedxml
from typing import Any, Final

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden

__all__ = ["XmlProblem", "build_xml", "parse_xml"]

_NOT_XML_CHAR: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*(?::[A-Za-z_][A-Za-z0-9_.\-]*)?")


class XmlProblem(ValueError):
    """The document or value cannot be converted; the message says why and what to fix."""


def parse_xml(
    text: str, strip_namespaces: bool, force_list: frozenset[str], max_depth: int
) -> dict[str, Any]:
    """Parse ``text`` into ``{root_tag: content}``.

    Raises:
        XmlProblem: malformed XML, a DTD / entity / external reference (refused), or
            elements nested deeper than ``max_depth``.
    """
    try:
        root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden as err:
        raise XmlProblem(
            "the document has a DTD (<!DOCTYPE ...>), which is refused because DTDs enable XXE "
            "and entity-expansion attacks; remove the DOCTYPE"
        ) from err
    except EntitiesForbidden as err:
        raise XmlProblem(
            f"the document declares the entity '{err.name}', which is refused (entity "
            "expansion); remove the declaration"
        ) from err
    except DefusedXmlException as err:
        raise XmlProblem(f"the document is refused: {err}") from err
    except ET.ParseError as err:
        raise XmlProblem(f"not well-formed XML: {err}") from err
    if _element_depth(root) > max_depth:
        raise XmlProblem(
            f"elements nest more than {max_depth} levels deep, which is refused; flatten the "
            "document"
        )
    tag = _tag(root.tag, strip_namespaces)
    return {tag: _content(root, strip_namespaces, force_list)}


def _element_depth(root: ET.Element) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in element)
    return deepest


def _tag(name: str, strip_namespaces: bool) -> str:
    return name.rsplit("}", 1)[-1] if strip_namespaces else name


def _content(element: ET.Element, strip: bool, force_list: frozenset[str]) -> Any:
    text = "".join(
        part for part in [element.text, *(child.tail for child in element)] if part
    ).strip()
    if not element.attrib and len(element) == 0:
        return text or None
    result: dict[str, Any] = {f"@{_tag(k, strip)}": v for k, v in element.attrib.items()}
    for child in element:
        tag = _tag(child.tag, strip)
        value = _content(child, strip, force_list)
        if tag in result:  # a repeated tag: content is never a list, so a list means repeats
            existing = result[tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                result[tag] = [existing, value]
        else:
            result[tag] = [value] if tag in force_list else value
    if text:
        result["#text"] = text
    return result


def build_xml(root_name: str, value: Any, *, declaration: bool, pretty: bool) -> str:
    """XML text of ``value`` under a root element named ``root_name``.

    Raises:
        XmlProblem: a key is not a valid XML name; the message names it.
    """
    root = ET.Element(_checked(root_name))
    _fill(root, value)
    if pretty:
        ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body) if declaration else body


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name) or name.lower().startswith("xml"):
        raise XmlProblem(
            f"'{name}' is not a valid XML element name; use letters, digits, '_', '-' and '.', "
            "starting with a letter or '_' (rename the key first with data.rename_keys)"
        )
    return name


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    bad = _NOT_XML_CHAR.search(text)
    if bad is not None:
        raise XmlProblem(
            f"the value {text[:40]!r} contains the character {bad.group()!r}, which XML 1.0 "
            "cannot hold; remove control characters first"
        )
    return text


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, list):
        for entry in value:
            _fill(ET.SubElement(element, "item"), entry)
        return
    if not isinstance(value, dict):
        element.text = _text(value)
        return
    for key, child in value.items():
        if key == "#text":
            element.text = _text(child)
        elif key.startswith("@"):
            element.set(_checked(key[1:]), _text(child) or "")
        elif isinstance(child, list):
            for entry in child:
                _fill(ET.SubElement(element, _checked(key)), entry)
        else:
            _fill(ET.SubElement(element, _checked(key)), child)
