"""courseware: trains and certifies peer mentors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from .config import PROJECT_ROOT, build_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application factory: what `flask --app app` and gunicorn load through app.py."""
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

    from . import db, errors, security
    from .cli import register_cli
    from .extensions import csrf, init_limiter, login_manager
    from .views import register_blueprints

    # ids in URLs fit the database's integer column, or the URL is simply not found
    app.url_map.converters["id"] = IdConverter
    db.init_app(app)
    csrf.init_app(app)
    security.init_app(app, login_manager)
    errors.init_app(app)
    register_blueprints(app)
    init_limiter(app)
    register_cli(app)
    return app


class IdConverter(IntegerConverter):
    """A positive id no larger than a 32-bit signed integer (PostgreSQL's INTEGER)."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]  # noqa: A002
        super().__init__(map, min=1, max=2**31 - 1)
