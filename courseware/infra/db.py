"""The database engine and sessions, without Flask (the web layer binds them to requests).

Services take a `Session` and flush; views, jobs and CLI commands decide when to commit, so a
unit of work lands in one transaction or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, url: str, *, session_info: Mapping[str, Any] | None = None,
                 **engine_options: Any):
        """`session_info` starts every session's `info` (what services may need from the
        deployment without importing it, such as the outbox's sealer)."""
        self.url = url
        self.engine = make_engine(url, **engine_options)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False,
                                     info=dict(session_info or {}))

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session for work outside a request (CLI, threads in tests)."""
        with self.sessions() as s:
            if write:
                s.connection(execution_options=WRITE)
            yield s


# Marks a transaction that will write. On SQLite it begins with BEGIN IMMEDIATE: a deferred
# transaction that reads and then writes fails outright ("database is locked") when another
# writer committed in between, where an immediate one simply waits its turn. Reads stay
# deferred so they never queue behind writers (WAL lets them run alongside).
WRITE = {"courseware_write": True}


POOL_RECYCLE = 1800  # seconds a server connection is reused at most


def make_engine(url: str, **options: Any) -> Engine:
    if url.startswith("sqlite"):
        _private_file(make_url(url).database)
        # wait for a writer instead of failing at once; the default pool suits threads
        options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # no ping before every checkout (a round trip per request, the verify API's largest cost
    # on PostgreSQL after the lookup itself): connections are replaced after POOL_RECYCLE
    # seconds, before any idle timeout between here and the server closes them, and a
    # connection found dead (the server restarted) fails that one request and makes the pool
    # drop every connection opened before it. /readyz runs a real query, so it still reports a
    # database that is down.
    options.setdefault("pool_pre_ping", False)
    options.setdefault("pool_recycle", POOL_RECYCLE)
    return create_engine(url, **options)


def _private_file(name: str | None) -> None:
    """The SQLite file is its owner's alone (0600); SQLite gives its -wal and -shm files the
    same mode. Made empty with that mode before SQLite opens it, or tightened if it exists."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


def _sqlite_begin(conn: Any) -> None:
    write = conn.get_execution_options().get("courseware_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # let SQLAlchemy emit BEGIN (see make_engine) rather than the driver's own
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()
