"""Blueprints by audience."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from courseware.web.views import (
        account,
        account_email,
        admin,
        admin_programs,
        api,
        auth,
        calibrate,
        grade,
        learn,
        program,
        program_webhooks,
        reliability,
        verify,
    )

    del account_email, admin_programs  # their routes live on account's and admin's blueprints
    for module in (auth, account, learn, grade, calibrate, reliability, verify, admin, api,
                   program, program_webhooks):
        app.register_blueprint(module.bp)
