"""The baseline the benchmark compares against: a bare Flask + SQLAlchemy app, no extensions.

It runs in its own gunicorn (same worker class, workers and threads as the real app's) on the
same database, so a ratio measures what courseware adds over the least a Flask app could do:
no sessions, login, CSRF, rate limiter, security headers, request log or metrics.

- GET /pk/<code>: the same indexed lookup as the verify API: the certificate by code, the same
  public columns, answered as a JSON object of those columns (the verify API also works out
  the status and eligibility and adds the track and links);
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
# the columns the verify API reads (courseware.services.certificates.PublicFacts)
COLUMNS = ("code", "track_id", "track_version_id", "holder_name", "issued_at", "expires_at",
           "revoked_at", "revocation_public_reason", "revocation_public_text", "suspended_at",
           "suspension_public_reason", "suspension_public_text")
LOOKUP = text("SELECT code, track_id, track_version_id, holder_name, issued_at, expires_at, "
              "revoked_at, revocation_public_reason, revocation_public_text, suspended_at, "
              "suspension_public_reason, suspension_public_text "
              "FROM certificate WHERE code = :code")


@app.route("/_bench/ping")
def ping() -> ResponseReturnValue:
    return str(os.getpid())


@app.route("/pk/<code>")
def pk(code: str) -> ResponseReturnValue:
    with engine.connect() as conn:
        row = conn.execute(LOOKUP, {"code": code}).first()
    if row is None:
        return jsonify({"error": "not_found"}), 404
    return jsonify(dict(zip(COLUMNS, row, strict=True)))


@app.route("/page")
def page() -> ResponseReturnValue:
    return render_template("bench/page.html", name="Reader")
