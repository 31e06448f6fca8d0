"""The web application: configuration, extensions, blueprints, error pages."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, has_request_context
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from courseware.domain import statuses
from courseware.infra.config import PROJECT_ROOT, build_config
from courseware.infra.remembered import Remembered
from courseware.services import accounts
from courseware.web import content_filters, db, errors, jobs, layout, observability, security
from courseware.web.current import current_request_context
from courseware.web.extensions import csrf, init_limiter, login_manager
from courseware.web.views import register_blueprints


class SyncFlask(Flask):
    """Flask for an app whose views and hooks are all plain functions (a test checks every
    one): Flask would otherwise ask of each hook on every request whether it is a coroutine,
    a dozen inspections per request on the busiest routes.

    It also remembers the links it builds within requests: every page's layout builds the same
    dozen (about 8 microseconds each through Werkzeug's URL map), and a link depends only on
    the endpoint, its values and where the app is mounted. Only plain links are remembered
    (no anchor, method, scheme or external form, values that are text or numbers) and only
    while no `url_defaults` function could change them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._links: Remembered[tuple[Any, ...], str] = Remembered(4096)

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        return func

    def url_for(self, /, endpoint: str, *, _anchor: str | None = None,
                _method: str | None = None, _scheme: str | None = None,
                _external: bool | None = None, **values: Any) -> str:
        plain = (_anchor is None and _method is None and _scheme is None and not _external
                 and endpoint[:1] != "." and not self.url_default_functions
                 and has_request_context()
                 and (not values or all(type(value) in (str, int)
                                        for value in values.values())))
        if not plain:
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                                   _external=_external, **values)
        adapter = current_request_context().url_adapter
        assert adapter is not None  # a request being served has one
        key = (adapter.script_name, adapter.server_name, adapter.url_scheme, adapter.subdomain,
               endpoint, *sorted(values.items()))
        link = self._links.get(key)
        if link is None:
            link = self._links.keep(key, super().url_for(endpoint, _external=_external, **values))
        return link


def make_web_app(config: dict[str, Any] | None = None) -> Flask:
    """The Flask app without its command line (courseware.factory.create_app adds that)."""
    instance = Path(
        (config or {}).get("INSTANCE_PATH")
        or os.environ.get("COURSEWARE_INSTANCE")
        or PROJECT_ROOT / "instance"
    ).resolve()
    app = SyncFlask(
        __name__,
        instance_path=str(instance),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    make_private_dir(instance)
    app.config.from_mapping(build_config(instance, config))

    # ids in URLs fit the database's integer column, or the URL is simply not found
    app.url_map.converters["id"] = IdConverter
    db.init_app(app)
    jobs.init_app(app)
    csrf.init_app(app)
    security.init_app(app, login_manager)
    errors.init_app(app)
    content_filters.init_app(app)
    layout.init_app(app)
    register_blueprints(app)
    # templates compare against the same enums as the code does
    app.jinja_env.globals.update({kind.__name__: kind for kind in statuses.TEMPLATE_ENUMS})
    init_limiter(app)
    observability.init_app(app)
    if app.config["TRUSTED_PROXIES"] > 0:
        # behind N proxies that set X-Forwarded-For/-Proto: the client's real address is what
        # the rate limits, the login throttle and the audit log see (off by default: a client
        # could otherwise claim any address)
        hops = int(app.config["TRUSTED_PROXIES"])
        # Flask's documented way to add middleware; mypy sees a method being replaced
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops)
    if app.config["PRODUCTION"] and click.get_current_context(silent=True) is None:
        refuse_demo_accounts(app)
    return app


class DemoAccountsInProduction(RuntimeError):
    pass


def refuse_demo_accounts(app: Flask) -> None:
    """A production server does not start while an account with a printed password exists.

    Checked when the web server loads the app; the command line still runs (it is how the
    accounts are removed or migrations applied)."""
    with app.app_context(), db.database().session(write=False) as s:
        if accounts.demo_accounts_exist(s):
            raise DemoAccountsInProduction(
                "Refusing to start: demo accounts exist and this is a production configuration "
                "(https BASE_URL or COURSEWARE_ENV=production). Deactivate them first (admin, "
                "Users), or use a fresh database.")


def make_private_dir(path: Path) -> None:
    """The instance folder holds the database and keys: its owner's alone (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o700)


class IdConverter(IntegerConverter):
    """A positive id no larger than a 32-bit signed integer (PostgreSQL's INTEGER)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, min=1, max=2**31 - 1)
