"""The parts of the layout every page repeats, made once and kept."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, render_template, request
from flask_login import current_user
from markupsafe import Markup

from courseware.web.remembered import Remembered
from courseware.web.security import csrf_token

_HEADERS = "courseware.site_headers"


def init_app(app: Flask) -> None:
    app.extensions[_HEADERS] = Remembered(4096)
    app.jinja_env.globals["site_header"] = site_header


def site_header() -> Markup:
    """The header of every page (templates/_site_header.html): the links a role has and, when
    logged in, the logout form with the session's CSRF token. It depends on nothing else, so a
    session's pages share one rendering: it cost as much as a module page's own content (a
    dozen links built through the URL map and the template's calls), on every page. With
    templates reloading (debug), it is rendered every time so edits show."""
    user = current_user._get_current_object()
    role = user.role if user.is_authenticated else None
    token = csrf_token() if role is not None else None
    key = (role, request.script_root, token)
    kept: Remembered[tuple[Any, ...], Markup] = current_app.extensions[_HEADERS]
    header = kept.get(key)
    if header is None:
        header = Markup(render_template("_site_header.html", role=role, token=token))  # noqa: S704 (autoescaped)
        if not current_app.jinja_env.auto_reload:
            kept.keep(key, header)
    return header
