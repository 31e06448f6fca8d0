"""The web application: configuration, extensions, blueprints, error pages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from courseware.domain import statuses
from courseware.infra.config import PROJECT_ROOT, build_config
from courseware.web import content_filters, db, errors, jobs, security
from courseware.web.extensions import csrf, init_limiter, login_manager
from courseware.web.views import register_blueprints


def make_web_app(config: dict[str, Any] | None = None) -> Flask:
    """The Flask app without its command line (courseware.factory.create_app adds that)."""
    instance = Path(
        (config or {}).get("INSTANCE_PATH")
        or os.environ.get("COURSEWARE_INSTANCE")
        or PROJECT_ROOT / "instance"
    ).resolve()
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(build_config(instance, config))

    # ids in URLs fit the database's integer column, or the URL is simply not found
    app.url_map.converters["id"] = IdConverter
    db.init_app(app)
    jobs.init_app(app)
    csrf.init_app(app)
    security.init_app(app, login_manager)
    errors.init_app(app)
    content_filters.init_app(app)
    register_blueprints(app)
    # templates compare against the same enums as the code does
    app.jinja_env.globals.update({kind.__name__: kind for kind in statuses.TEMPLATE_ENUMS})
    init_limiter(app)
    return app


class IdConverter(IntegerConverter):
    """A positive id no larger than a 32-bit signed integer (PostgreSQL's INTEGER)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, min=1, max=2**31 - 1)
