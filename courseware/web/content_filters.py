"""Jinja filters for course text: `course_text` fills in the country's crisis lines, and
`pass_rule` says a rubric's pass rule in plain words.

Every template that prints course text passes it through the filter: plain text as
`{{ q.prompt|course_text }}` (Jinja escapes the result), sanitised HTML as
`{{ data.body_html|safe|course_text }}` (the values are escaped before they go in).
Placeholders stay in the stored versions; the values are read once per process from
modules/crisis-lines.toml for COURSE_COUNTRY, so changing the country needs a restart, not a sync.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from markupsafe import Markup

from courseware.domain.content.crisis import country_values
from courseware.domain.content.placeholders import fill_html, fill_text
from courseware.domain.content.source import ContentError
from courseware.domain.rubric import pass_rule

_KEY = "courseware.crisis_lines"

FillKey = tuple[tuple[str, str], ...]


def init_app(app: Flask) -> None:
    app.jinja_env.filters["course_text"] = course_text
    # the rubric's pass rule in plain words, for every page that shows a rubric
    app.jinja_env.filters["pass_rule"] = pass_rule
    app.jinja_env.globals["local_line"] = local_line


def fill_key() -> FillKey:
    """What the filled text depends on, for caches of rendered course text."""
    return tuple(sorted(_values(current_app).items()))


def course_text(value: object) -> object:
    """`value` with its placeholders filled in; anything that is not text is left as it is."""
    if isinstance(value, Markup):
        return Markup(fill_html(str(value), _values(current_app)))  # noqa: S704 (values escaped)
    if isinstance(value, str):
        return fill_text(value, _values(current_app))
    return value


# What the site's own pages (the footer) say when a country's value is not available.
GENERIC = {
    "emergency": "your local emergency number",
    "crisis_line": "a local crisis line",
    "crisis_number": "a local crisis line",
    "crisis_text": "a local crisis text line",
    "poison_line": "a poison information centre",
    "country": "your country",
}


def local_line(name: str) -> str:
    """One placeholder's value for the site's own text, such as the footer on every page.

    Unlike course text, this never fails: it is also on the error page that a broken
    crisis-lines file leads to.
    """
    try:
        values = _values(current_app)
    except RuntimeError:
        values = {}
    return values.get(name, GENERIC[name])


def _values(app: Flask) -> dict[str, str]:
    values: dict[str, str] | None = app.extensions.get(_KEY)
    if values is None:
        root = Path(app.config["CONTENT_ROOT"])
        try:
            values = country_values(root, str(app.config["COURSE_COUNTRY"]))
        except ContentError as exc:
            # a wrong country's emergency number is worse than an error page; check says why
            raise RuntimeError(f"cannot fill course text for COURSE_COUNTRY: {exc}") from None
        app.extensions[_KEY] = values
    return values
