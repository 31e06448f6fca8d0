"""The request's database session: opened on first use, closed when the request ends."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from courseware.infra.db import Database
from courseware.infra.kek import Sealer
from courseware.services.audit import CLIENT_ADDRESS
from courseware.services.outbox import SEALER_INFO

T = TypeVar("T")


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


def read_stream(produce: Callable[[Session], Iterable[T]]) -> Iterator[T]:
    """What `produce` yields over a read-only session of its own: for a response streamed after
    the request (and its session) has ended, such as a long export."""
    owner = database()

    def generate() -> Iterator[T]:
        with owner.session(write=False) as s:
            yield from produce(s)

    return generate()


def session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        owner, in_request = database(), has_request_context()
        writes = in_request and request.method not in ("GET", "HEAD", "OPTIONS")
        g.db_session = owner.write_session() if writes else owner.sessions()
        if in_request:
            # audit events recorded in this request say where it came from
            g.db_session.info[CLIENT_ADDRESS] = client_address()
    s: Session = g.db_session
    return s


def client_address() -> str | None:
    """The client's address: the peer, or the address TRUSTED_PROXIES' ProxyFix read."""
    return (request.remote_addr or "")[:45] or None


def write_session() -> Session:
    """A session of its own for a write beside the request's unit of work (an audit event of
    a refused request, a session's last-seen time); the caller commits and closes it."""
    s = database().write_session()
    if has_request_context():
        s.info[CLIENT_ADDRESS] = client_address()
    return s


def discard_session() -> None:
    """Close the request's session now, dropping what it had not committed."""
    s: Session | None = g.pop("db_session", None)
    if s is not None:
        s.close()


def _close_session(_exc: BaseException | None) -> None:
    s: Session | None = g.pop("db_session", None)
    if s is not None:
        s.close()
