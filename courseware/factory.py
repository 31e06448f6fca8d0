"""The composition root: the web app with its command line attached.

It sits outside the layers on purpose: web must not import cli (cli is the higher layer), yet
`flask --app app ...` needs both on one app object.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from courseware.cli.commands import register_cli
from courseware.web.app import make_web_app


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """What `flask --app app` and gunicorn load through app.py, and what the tests build."""
    app = make_web_app(config)
    register_cli(app)
    return app
