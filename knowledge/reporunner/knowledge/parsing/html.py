"""HTML: keep the main content, drop navigation, ads and boilerplate.

A readability-style heuristic: remove elements that are never content (scripts, nav, footers,
elements whose class or id says "menu", "sidebar", "cookie"...), then prefer ``<main>`` /
``<article>``; failing those, score every block container by how much prose it holds (text
length and commas, penalised by link density) and keep the best. Headings inside the kept
content become the heading paths of its sections.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

from reporunner.knowledge.parsing._types import ParsedDocument, SectionBuilder
from reporunner.knowledge.parsing.text import decode_text

__all__ = ["parse_html"]

_NEVER_CONTENT = (
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg",
    "button", "template", "menu", "select", "input",
)  # fmt: skip
_NEGATIVE = re.compile(
    r"nav|menu|sidebar|footer|header|masthead|comment|cookie|banner|advert|\bads?\b|social|"
    r"share|breadcrumb|related|promo|popup|modal|subscribe|newsletter|skip",
    re.IGNORECASE,
)
_BLOCKS = ("p", "li", "pre", "blockquote", "td", "th", "dd", "dt", "figcaption")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_SPACE = re.compile(r"[ \t\r\f\v]+")


def _is_boilerplate(tag: Tag) -> bool:
    if tag.name in ("html", "body", "main", "article"):
        return False
    if tag.get("role") in ("navigation", "banner", "contentinfo", "complementary"):
        return True
    if tag.get("aria-hidden") == "true" or tag.has_attr("hidden"):
        return True
    attrs = " ".join([*tag.get_attribute_list("class"), str(tag.get("id") or "")])
    return bool(attrs.strip()) and bool(_NEGATIVE.search(attrs))


def _strip_boilerplate(root: Tag) -> None:
    for tag in root.find_all(_NEVER_CONTENT):
        tag.decompose()
    for tag in root.find_all(True):
        if isinstance(tag, Tag) and not tag.decomposed and _is_boilerplate(tag):
            tag.decompose()


def _score(tag: Tag) -> float:
    text = tag.get_text(" ", strip=True)
    if len(text) < 25:
        return 0.0
    link_text = sum(len(a.get_text(" ", strip=True)) for a in tag.find_all("a"))
    link_density = link_text / max(len(text), 1)
    paragraphs = len(tag.find_all("p", recursive=False))
    return (len(text) / 100 + text.count(",") + 3 * paragraphs) * (1 - link_density)


def _main_content(soup: BeautifulSoup) -> Tag:
    body = soup.body or soup
    for selector in ("main", "article", "[role=main]"):
        found = body.select(selector)
        if found:
            return max(found, key=lambda t: len(t.get_text(" ", strip=True)))
    best: Tag = body
    best_score = _score(body) * 0.5  # a container must beat the whole page clearly
    for tag in body.find_all(("div", "section", "td", "article")):
        score = _score(tag)
        if score > best_score:
            best, best_score = tag, score
    # Keep the parent when the best block is one of several similar siblings (multi-part text).
    parent = best.parent
    if isinstance(parent, Tag) and parent is not body and _score(parent) > best_score * 1.3:
        best = parent
    return best


def _clean(text: str) -> str:
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def parse_html(data: bytes) -> ParsedDocument:
    """Extract the main content of an HTML page as heading-scoped sections."""
    soup = BeautifulSoup(decode_text(data), "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(strip=True) if title_tag else None
    _strip_boilerplate(soup)
    root = _main_content(soup)
    builder = SectionBuilder()
    stack: list[tuple[int, str]] = []
    current: list[str] = []

    def flush() -> None:
        builder.add("\n\n".join(current), heading_path=tuple(h for _, h in stack))
        current.clear()

    elements = root.find_all((*_HEADINGS, *_BLOCKS))
    for element in elements:
        if element.name in _BLOCKS and element.find_parent(_BLOCKS) is not None:
            continue  # nested block: its text already belongs to the enclosing one
        text = _clean(element.get_text("\n" if element.name == "pre" else " "))
        if not text:
            continue
        if element.name in _HEADINGS:
            flush()
            level = int(element.name[1])
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
        current.append(text)
    flush()
    kept = sum(len(section.text) for section in builder.sections)
    if kept < 0.5 * len(_clean(root.get_text(" "))):
        # Text sits in bare <div>s/<span>s rather than paragraphs: keep it all, line by line.
        builder = SectionBuilder()
        builder.add(_clean(root.get_text("\n")))
    return builder.build("html", "text/html", title=title or (stack[0][1] if stack else None))
