"""Placeholders such as {{crisis_line}} in course text, filled in when the text is shown.

Course files say {{emergency}} where a number depends on the country the course runs in. The
stored versions keep the placeholders; the values come from modules/crisis-lines.toml and the
COURSE_COUNTRY setting at display time, so moving the course to another country needs no sync.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from courseware.domain.content.source import Problem

PLACEHOLDERS = ("emergency", "crisis_line", "crisis_number", "crisis_text", "poison_line",
                "country")

# Anything between double braces on one line; the name inside may have spaces around it.
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")


def fill_text(text: str, values: Mapping[str, str]) -> str:
    """Plain text with each known placeholder replaced by its value (unknown ones left)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1).strip(), m.group(0)), text)


def fill_html(markup: str, values: Mapping[str, str]) -> str:
    """Sanitised HTML with each known placeholder replaced by its value, HTML-escaped."""
    return fill_text(markup, {name: html.escape(value) for name, value in values.items()})


def placeholder_problems(path: str, text: str, line_offset: int = 0) -> list[Problem]:
    """`path:line: unknown placeholder {{x}}` for each placeholder that has no value."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1 + line_offset):
        for match in _PLACEHOLDER.finditer(line):
            if match.group(1).strip() not in PLACEHOLDERS:
                found.append(Problem(path, number, f"unknown placeholder {match.group(0)}"))
    return found


def first_placeholder(text: str) -> tuple[int, str] | None:
    """The line and text of the first known placeholder in `text`, if any."""
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _PLACEHOLDER.finditer(line):
            if match.group(1).strip() in PLACEHOLDERS:
                return number, match.group(0)
    return None
