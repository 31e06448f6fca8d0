"""Blueprints by audience."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from courseware.web.views import (
        account,
        admin,
        api,
        auth,
        calibrate,
        grade,
        learn,
        reliability,
        verify,
    )

    for module in (auth, account, learn, grade, calibrate, reliability, verify, admin, api):
        app.register_blueprint(module.bp)
