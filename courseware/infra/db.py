"""The database engine and sessions, without Flask (the web layer binds them to requests).

Services take a `Session` and flush; views, jobs and CLI commands decide when to commit, so a
unit of work lands in one transaction or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import CompoundSelect, Dialect, Engine, Select, create_engine, event, make_url
from sqlalchemy import inspect as inspect_mapped
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import instance_dict

T = TypeVar("T")
M = TypeVar("M")


class Database:
    def __init__(self, url: str, *, session_info: Mapping[str, Any] | None = None,
                 **engine_options: Any):
        """`session_info` starts every session's `info` (what services may need from the
        deployment without importing it, such as the outbox's sealer)."""
        self.url = url
        self.engine = make_engine(url, **engine_options)
        # the same pool; every transaction begun on it is marked as a write (see WRITE)
        self.write_engine = self.engine.execution_options(**WRITE)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False,
                                     info=dict(session_info or {}))

    def write_session(self) -> Session:
        """A session each of whose transactions is a write: not only its first, since a unit
        of work that commits and then reads before writing again would otherwise begin that
        second transaction deferred (and fail on SQLite if another writer came between)."""
        return self.sessions(bind=self.write_engine)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session for work outside a request (CLI, jobs, threads in tests)."""
        with self.write_session() if write else self.sessions() as s:
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


# Set in a session's info while its transaction holds a database connection (it has run a
# statement, so it may have written, and a read must see that): see DirectRead.
_HOLDS_CONNECTION = "courseware_holds_connection"


@event.listens_for(Session, "after_begin")
def _connection_begun(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info[_HOLDS_CONNECTION] = True


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost one: its connection has gone back
        session.info.pop(_HOLDS_CONNECTION, None)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # the parameters' order for a positional driver (SQLite)
    # (column index, converter) for the columns SQLAlchemy would convert, as it would
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]


class DirectRead(Generic[T]):
    """A SELECT run on a pooled DB-API connection directly: no SQLAlchemy Connection,
    execution context, cursor result or Row around it, and no transaction. For the busiest
    reads there are (the verify API's lookup by code, the session and account behind every
    logged-in request, the module page's states), where that machinery cost as much CPU as
    the rest of the request (issue #20's profile).

    The statement is compiled once per kind of database; each column's value goes through
    the converter SQLAlchemy itself would apply (dates, the UTC type, enums); parameters go to
    the driver as they are, so only text and numbers. Outside a transaction: SQLite's driver
    runs the statement on its own (no BEGIN is sent, see _sqlite_begin), PostgreSQL's in
    autocommit for this one statement, so the connection goes back to the pool idle, with
    nothing to roll back. A connection that fails is dropped from the pool, as SQLAlchemy
    drops one it finds dead.

    Given a Session that has run a statement in its transaction, or holds changes not yet
    flushed, the statement runs in that transaction instead, the usual way: it must see what
    the session itself has written."""

    def __init__(self, statement: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]],
                 make: Callable[..., T]) -> None:
        self._statement = statement
        self._make = make  # builds the answer from the columns' values, in order
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def first(self, source: Engine | Session, **params: str | int) -> T | None:
        found = self._rows(source, params, one=True)
        return found[0] if found else None

    def all(self, source: Engine | Session, **params: str | int) -> list[T]:
        return self._rows(source, params, one=False)

    def _rows(self, source: Engine | Session, params: dict[str, str | int],
              one: bool) -> list[T]:
        if isinstance(source, Session):
            if source.info.get(_HOLDS_CONNECTION) or source.new or source.dirty or source.deleted:
                result = source.execute(self._statement, params)  # flushes first
                if one:
                    row = result.first()
                    return [] if row is None else [self._make(*row)]
                return [self._make(*row) for row in result]
            engine = source.get_bind()
            assert isinstance(engine, Engine)
        else:
            engine = source
        compiled = self._compile(engine.dialect)
        args: Any = params if compiled.names is None else [params[n] for n in compiled.names]
        raw = engine.raw_connection()
        try:
            rows = self._fetch(raw, compiled.sql, args, engine.dialect.name != "sqlite", one)
        except BaseException:
            raw.invalidate()  # in an unknown state: never handed out again
            raise
        finally:
            raw.close()
        make, convert = self._make, compiled.convert
        if not convert:
            return [make(*values) for values in rows]
        made = []
        for values in rows:
            changed = list(values)
            for index, to in convert:
                changed[index] = to(changed[index])
            made.append(make(*changed))
        return made

    @staticmethod
    def _fetch(raw: Any, sql: str, args: Any, autocommit: bool, one: bool) -> Any:
        driver = raw.driver_connection
        if autocommit:
            driver.autocommit = True
        cursor = raw.cursor()
        try:
            cursor.execute(sql, args)
            return cursor.fetchmany(1) if one else cursor.fetchall()
        finally:
            cursor.close()
            if autocommit:
                driver.autocommit = False

    def _compile(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.paramstyle)
        compiled = self._compiled.get(key)
        if compiled is None:
            done = self._statement.compile(dialect=dialect)
            fixed = sorted(name for name, bind in done.binds.items()
                           if bind.value is not None or bind.callable is not None)
            if fixed:  # they would need SQLAlchemy's own parameter processing
                raise ValueError(f"a DirectRead takes every value at the call; {fixed} are "
                                 "written into the statement")
            names = tuple(done.positiontup or ()) if done.positional else None
            processors = (column.type.dialect_impl(dialect).result_processor(dialect, None)
                          for column in self._statement.selected_columns)
            convert = tuple((index, to) for index, to in enumerate(processors)
                            if to is not None)
            compiled = self._compiled[key] = _Compiled(done.string, names, convert)
        return compiled


def adopt(session: Session, model: type[M], values: Mapping[str, Any]) -> M:
    """The `model` object whose every column is in `values` (read by a DirectRead), made part
    of `session` as though the session had loaded it: no SQL, no transaction begun. Changes to
    it are flushed as to any loaded object. The session's own object when it already has one
    (it may hold changes of its own)."""
    mapper = inspect_mapped(model)
    key = mapper.identity_key_from_primary_key([values[column.key]
                                                for column in mapper.primary_key])
    held = session.identity_map.get(key)
    if held is not None:
        assert isinstance(held, model)
        return held
    # as loading makes an object: no constructor, the values straight into its dictionary,
    # where a loaded object keeps them (setting attributes would record each as a change)
    made = mapper.class_manager.new_instance()
    instance_dict(made).update(values)
    make_transient_to_detached(made)  # it has an identity now: clean, as if just loaded
    session.add(made)
    assert isinstance(made, model)
    return made
