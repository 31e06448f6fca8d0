"""The request's database session: opened on first use, closed when the request ends."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from courseware.infra.db import WRITE, Database
from courseware.infra.kek import Sealer
from courseware.services.outbox import SEALER_INFO


def init_app(app: Flask) -> Database:
    # every session of the app can seal what the outbox stores (see courseware.services.outbox)
    database = Database(app.config["DATABASE_URL"], session_info={
        SEALER_INFO: Sealer(app.config["KEY_ENCRYPTION_KEY"])})
    app.extensions["courseware.db"] = database
    app.teardown_appcontext(_close_session)
    return database


def database() -> Database:
    db: Database = current_app.extensions["courseware.db"]
    return db


def session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = database().sessions()
        if has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS"):
            g.db_session.connection(execution_options=WRITE)
    s: Session = g.db_session
    return s


def _close_session(_exc: BaseException | None) -> None:
    s: Session | None = g.pop("db_session", None)
    if s is not None:
        s.close()
