"""Blueprints by audience."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from courseware.web.views import account, admin, api, auth, grade, learn, verify

    for module in (auth, account, learn, grade, verify, admin, api):
        app.register_blueprint(module.bp)
