"""The baseline the benchmark compares against: a bare Flask + SQLAlchemy app, no extensions.

It runs in its own gunicorn (same worker class, workers and threads as the real app's) on the
same database, so a ratio measures what courseware adds over the least a Flask app could do:
no sessions, login, CSRF, rate limiter, security headers, request log or metrics.

- GET /pk/<code>: the same indexed lookup as the verify API: the certificate by code, the same
  public columns, answered as a JSON object of those columns (the verify API also works out
  the status and eligibility and adds the track and links);
- GET /page: a tiny template file rendered (compiled once, as every page's is) for a
  logged-in person, as the benchmark asked when issue #20 was filed ("bare template page,
  login required, so both pay for the session cookie and loading the user"), with the least a
  Flask app can do for that: Flask's own signed-cookie session (the cookie courseware's login
  set: same secret and name, read by Flask's built-in session, no Flask-Login), then one indexed
  read of the server-side session and its account; a cookie naming no session gets 401;
- GET /page/anonymous: the same template with no login (no cookie, no database): information;
- GET /_bench/ping: readiness, answers the worker's pid.
"""

from __future__ import annotations

import hashlib
import os

from flask import Flask, jsonify, render_template, session
from flask.typing import ResponseReturnValue
from sqlalchemy import create_engine, text

app = Flask(__name__, template_folder="templates")
app.config.update(SECRET_KEY=os.environ["SECRET_KEY"], SESSION_COOKIE_NAME="courseware_session")
engine = create_engine(os.environ["DATABASE_URL"])
# the columns the verify API reads (courseware.services.certificates.PublicFacts)
COLUMNS = ("code", "track_id", "track_version_id", "holder_name", "issued_at", "expires_at",
           "revoked_at", "revocation_public_reason", "revocation_public_text", "suspended_at",
           "suspension_public_reason", "suspension_public_text")
LOOKUP = text("SELECT code, track_id, track_version_id, holder_name, issued_at, expires_at, "
              "revoked_at, revocation_public_reason, revocation_public_text, suspended_at, "
              "suspension_public_reason, suspension_public_text "
              "FROM certificate WHERE code = :code")
# the login's server-side session, by the SHA-256 of the random id its cookie carries
SESSION = text('SELECT "user".name FROM user_session '
               'JOIN "user" ON "user".id = user_session.user_id '
               "WHERE user_session.token_hash = :token_hash AND user_session.revoked_at IS NULL "
               'AND "user".active')


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
    token = session.get("_user_id")  # where courseware's login (Flask-Login) keeps it
    if not isinstance(token, str):
        return "log in first", 401
    with engine.connect() as conn:
        name = conn.execute(SESSION, {"token_hash": hashlib.sha256(token.encode()).hexdigest()}
                            ).scalar()
    if name is None:
        return "log in first", 401
    return render_template("bench/page.html", name=name)


@app.route("/page/anonymous")
def anonymous_page() -> ResponseReturnValue:
    return render_template("bench/page.html", name="Reader")
