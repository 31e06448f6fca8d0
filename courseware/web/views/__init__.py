"""Blueprints by audience."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from courseware.web.views import (
        account,
        account_email,
        admin,
        api,
        auth,
        calibrate,
        grade,
        learn,
        program_webhooks,
        reliability,
        verify,
    )

    del account_email  # its routes live on account's blueprint
    for module in (auth, account, learn, grade, calibrate, reliability, verify, admin, api,
                   program_webhooks):
        app.register_blueprint(module.bp)
