"""The baseline the benchmark compares against: a bare Flask + SQLAlchemy app, no extensions.

It runs in its own gunicorn (same worker class, workers and threads as the real app's) on the
same database, so a ratio measures what courseware adds over the least a Flask app could do:
no sessions, login, CSRF, rate limiter, security headers, request log or metrics.

- GET /pk/<code>: the same indexed lookup as the verify API (certificate by code), two fields
  of JSON (the verify API answers the full certificate object);
- GET /page: a tiny template file rendered (compiled once, as every page's is);
- GET /_bench/ping: readiness, answers the worker's pid.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import create_engine, text

app = Flask(__name__, template_folder="templates")
engine = create_engine(os.environ["DATABASE_URL"])
LOOKUP = text("SELECT id, code FROM certificate WHERE code = :code")


@app.route("/_bench/ping")
def ping() -> ResponseReturnValue:
    return str(os.getpid())


@app.route("/pk/<code>")
def pk(code: str) -> ResponseReturnValue:
    with engine.connect() as conn:
        row = conn.execute(LOOKUP, {"code": code}).first()
    if row is None:
        return jsonify({"error": "not_found"}), 404
    return jsonify({"id": row.id, "code": row.code})


@app.route("/page")
def page() -> ResponseReturnValue:
    return render_template("bench/page.html", name="Reader")
