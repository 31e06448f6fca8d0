"""Baseline routes for the benchmark, registered only by bench/wsgi.py under COURSEWARE_BENCH=1.

They share everything with the real routes (app, middleware, security headers, per-request
session from courseware.web.db.session(), login) and do the least a real route could:

* /_bench/pk/<id>: one primary-key lookup of a certificate, a two-field JSON answer
  (the baseline for the verify API, which does a unique-index lookup by code and more);
* /_bench/page: a tiny template file (bench/templates/bench/page.html, compiled once and
  cached by Jinja like every page's template), behind the same login_required
  as the module page (so both pay for the session cookie and loading the user);
* /_bench/layout: the same, but extending the site's base.html (navigation, logout form with
  its CSRF token, footer): separates the layout's share of a page from the page's own work;
* /_bench/ping: readiness probe, answers the worker's pid.
"""

from __future__ import annotations

import os

from flask import Blueprint, jsonify, render_template
from flask_login import current_user

from courseware.models import Certificate
from courseware.web import db
from courseware.web.security import login_required

bp = Blueprint("bench", __name__, url_prefix="/_bench", template_folder="templates")


@bp.route("/ping")
def ping():  # type: ignore[no-untyped-def]
    return str(os.getpid())  # the worker's pid: the bench waits until every worker answers


@bp.route("/pk/<int:ident>")
def pk(ident: int):  # type: ignore[no-untyped-def]
    cert = db.session().get(Certificate, ident)
    if cert is None:
        return jsonify({"error": "not_found"}), 404
    return jsonify({"id": cert.id, "code": cert.code})


@bp.route("/page")
@login_required
def page():  # type: ignore[no-untyped-def]
    return render_template("bench/page.html", name=current_user.name)


@bp.route("/layout")
@login_required
def layout():  # type: ignore[no-untyped-def]
    return render_template("bench/layout.html", name=current_user.name)
