"""Markdown to sanitised HTML, done once at sync time."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import markdown
import nh3

_TAGS = {
    "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "strong", "em", "b", "i",
    "blockquote", "code", "pre", "a", "table", "thead", "tbody", "tr", "th", "td", "dl", "dt",
    "dd", "sup", "sub", "abbr",
}
_ATTRIBUTES = {
    **{h: {"id"} for h in ("h2", "h3", "h4", "h5", "h6")},
    "a": {"href", "title"},
    "abbr": {"title"},
    "th": {"align"},
    "td": {"align"},
}


@dataclass(frozen=True)
class Rendered:
    html: str
    toc: tuple[dict[str, Any], ...]  # [{"id", "title", "level", "children": [...]}]


def render_markdown(source: str, *, shift_headings: bool = False) -> Rendered:
    """Render markdown to safe HTML with heading anchors and a table of contents.

    `shift_headings` turns a lone `#` into `##` for short texts (briefs) that are shown inside a
    page that already has its own level-1 heading.
    """
    md = markdown.Markdown(
        extensions=["toc", "tables", "fenced_code", "sane_lists", "smarty"],
        extension_configs={"toc": {"permalink": False, "toc_depth": "2-3"}},
        output_format="html",
    )
    if shift_headings:
        source = "\n".join("#" + line if line.startswith("# ") else line
                           for line in source.splitlines())
    body = md.convert(source)
    safe = nh3.clean(
        body,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )
    # the toc extension sets `toc_tokens` on the instance; the stubs do not know it
    tokens: list[dict[str, Any]] = getattr(md, "toc_tokens", [])
    return Rendered(html=safe, toc=tuple(_toc(t) for t in tokens))


def _toc(token: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": token["id"],
        "title": html.unescape(token["name"]),
        "level": token["level"],
        "children": [_toc(child) for child in token.get("children", [])],
    }


def render_plain(text: str) -> str:
    """Escape plain text and keep its paragraphs and line breaks."""
    paragraphs = [p.strip() for p in text.strip().split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    )
