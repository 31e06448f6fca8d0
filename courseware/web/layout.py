"""The parts of pages that many requests share, made once and kept: the site header, and
whole pages that are the same for everyone in the same state."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from typing import NoReturn, TypeVar

from flask import Flask, current_app, g, render_template, request, session
from flask_login import current_user
from markupsafe import Markup

from courseware.infra.remembered import Remembered
from courseware.web.content_filters import fill_key
from courseware.web.security import csrf_token

K = TypeVar("K")
V = TypeVar("V")

_HEADERS = "courseware.site_headers"
_PAGES = "courseware.shared_pages"


def init_app(app: Flask) -> None:
    app.extensions[_HEADERS] = Remembered(4096)
    app.extensions[_PAGES] = Remembered(256)  # ~40 KB each: at most ~10 MB a process
    app.jinja_env.globals["site_header"] = site_header


def site_header() -> Markup:
    """The header of every page (templates/_site_header.html): the links a role has and, when
    logged in, the logout form with the session's CSRF token. It depends on nothing else, so a
    session's pages share one rendering: it cost as much as a module page's own content (a
    dozen links built through the URL map and the template's calls), on every page. With
    templates reloading (debug), it is rendered every time so edits show."""
    role = _role()
    token = csrf_token() if role is not None else None
    kept: Remembered[tuple[str | None, str, str | None], Markup] = \
        current_app.extensions[_HEADERS]
    return rendered_once(
        kept, (role, request.script_root, token),
        lambda: Markup(render_template("_site_header.html", role=role, token=token)))  # noqa: S704 (autoescaped)


def rendered_once(kept: Remembered[K, V], key: K, render: Callable[[], V]) -> V:
    """What `render` makes for `key`, made once and kept in `kept`; with templates reloading
    (debug), made every time so edits show."""
    if current_app.jinja_env.auto_reload:
        return render()
    found = kept.get(key)
    return found if found is not None else kept.keep(key, render())


def _role() -> str | None:
    """What the layout shows differs by role only (None: not logged in)."""
    user = current_user._get_current_object()
    role: str | None = user.role if user.is_authenticated else None
    return role


# Stands for the session's CSRF token in a shared page (random per process: no course text
# can contain it by chance), replaced by the real token when the page is sent.
_TOKEN_STAND_IN = "csrf-stand-in-" + secrets.token_hex(16)
_STAND_IN_BYTES = _TOKEN_STAND_IN.encode()


class _NotShared:
    """What a shared page's template gets instead of the person's own objects: reading one
    fails at once, so a template edit that made a shared page personal cannot show one
    learner's page to another."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> NoReturn:
        raise RuntimeError(f"a shared page cannot read {self._name}.{attribute}: pass what it "
                           "needs in its context (see courseware.web.layout.shared_page)")

    def __getitem__(self, item: object) -> NoReturn:
        raise RuntimeError(f"a shared page cannot read {self._name}[{item!r}]")


_PERSONAL = {name: _NotShared(name) for name in ("current_user", "session", "g", "request")}


def shared_page(template: str, **context: Hashable) -> bytes:
    """`template` rendered with `context`, as the response's body, for a page that shows
    everyone with the same role the same thing for the same `context`: the module page, the
    course's busiest, is the same for every learner who has read (or not), rated and
    commented alike. Rendering it (the layout, the 36 KB lesson, encoding) cost as much as the
    rest of the request, so it is made once per role, mount point, local crisis lines and
    context, and kept as bytes; the session's CSRF token, the one personal part (the header's
    logout form and the page's own forms), is filled in on the way out.

    Every value the template may read is in `context` (hashable, so it is the key): the
    person's own objects (`current_user`, `session`, `g`, `request`) fail if read. A page with
    flashed messages is rendered as usual; with templates reloading (debug), every page is
    rendered afresh, the shared way."""
    if session.get("_flashes"):
        return render_template(template, **context).encode()
    key = (template, _role(), request.script_root, fill_key(), tuple(sorted(context.items())))
    token = csrf_token()

    def render() -> bytes:
        g.csrf_token = _TOKEN_STAND_IN  # where csrf_token() and Flask-WTF look first
        try:
            return render_template(template, **context, **_PERSONAL).encode()
        finally:
            g.csrf_token = token

    kept: Remembered[tuple[Hashable, ...], bytes] = current_app.extensions[_PAGES]
    page = rendered_once(kept, key, render)
    return page.replace(_STAND_IN_BYTES, token.encode())
