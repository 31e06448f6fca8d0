"""The request's database session: opened on first use, closed when the request ends."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from courseware.infra.db import WRITE, Database

T = TypeVar("T")


def init_app(app: Flask) -> Database:
    database = Database(app.config["DATABASE_URL"])
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
        g.db_session = database().sessions()
        if has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS"):
            g.db_session.connection(execution_options=WRITE)
    s: Session = g.db_session
    return s


def _close_session(_exc: BaseException | None) -> None:
    s: Session | None = g.pop("db_session", None)
    if s is not None:
        s.close()
