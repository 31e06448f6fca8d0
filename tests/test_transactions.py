"""Writers on SQLite take their turn instead of failing: every transaction of a session that
writes begins as a write (BEGIN IMMEDIATE), not only its first.

The case this guards: a view commits, reads, then writes again in the same session (a login
records the attempt, asks whether the account has a second factor, then starts the session).
Begun deferred, that second transaction reads a snapshot; a job worker that commits before
the view writes makes SQLite refuse the view's write at once ("database is locked"), a 500."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from courseware.infra.db import Database
from courseware.web import db as web_db
from tests.conftest import make_app


@pytest.fixture
def database_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "scratch.db"
    database = Database(f"sqlite:///{path}")
    with database.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE written (who TEXT NOT NULL)")
    database.engine.dispose()
    yield path


def _someone_else_can_write_now(path: Path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    else:
        other.execute("ROLLBACK")
        return True
    finally:
        other.close()


def _commit_then_read(s: Session) -> None:
    s.execute(text("INSERT INTO written VALUES ('first')"))
    s.commit()
    s.execute(text("SELECT count(*) FROM written")).scalar_one()


def _race(s: Session, path: Path) -> list[str]:
    """The login's shape, with another writer arriving between the read and the write."""
    _commit_then_read(s)
    worker = Database(f"sqlite:///{path}")
    failures: list[BaseException] = []

    def other_writer() -> None:
        try:
            with worker.session() as w:
                w.execute(text("INSERT INTO written VALUES ('worker')"))
                w.commit()
        except BaseException as exc:  # noqa: BLE001 (reported by the test below)
            failures.append(exc)

    thread = threading.Thread(target=other_writer)
    thread.start()
    # a deferred transaction lets the worker commit now; an immediate one makes it wait
    thread.join(timeout=0.5)
    s.execute(text("INSERT INTO written VALUES ('second')"))
    s.commit()
    thread.join(timeout=30)
    worker.engine.dispose()
    assert not failures, failures
    rows = s.execute(text("SELECT who FROM written ORDER BY rowid")).scalars().all()
    return list(rows)


def test_a_write_sessions_later_transactions_are_writes_too(database_file: Path) -> None:
    database = Database(f"sqlite:///{database_file}")
    with database.session() as s:
        _commit_then_read(s)
        assert not _someone_else_can_write_now(database_file)
        s.commit()
    assert _someone_else_can_write_now(database_file)
    database.engine.dispose()


def test_a_read_session_never_holds_the_write_lock(database_file: Path) -> None:
    database = Database(f"sqlite:///{database_file}")
    with database.session(write=False) as s:
        s.execute(text("SELECT count(*) FROM written")).scalar_one()
        assert _someone_else_can_write_now(database_file)
    database.engine.dispose()


def test_a_writer_arriving_between_read_and_write_waits_its_turn(database_file: Path) -> None:
    database = Database(f"sqlite:///{database_file}")
    with database.session() as s:
        assert _race(s, database_file) == ["first", "second", "worker"]
    database.engine.dispose()


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_requests_session_writes_in_every_transaction_of_a_changing_method(
        database_file: Path, tmp_path: Path, method: str) -> None:
    app = make_app(f"sqlite:///{database_file}", tmp_path)
    with app.test_request_context("/login", method=method):
        assert _race(web_db.session(), database_file) == ["first", "second", "worker"]


@pytest.mark.parametrize("open_session", [
    pytest.param(web_db.write_session, id="a write beside the request"),
    pytest.param(web_db.session, id="the request's own"),
])
def test_sessions_of_a_request_hold_the_lock_only_where_they_write(
        database_file: Path, tmp_path: Path, open_session: Callable[[], Session]) -> None:
    app = make_app(f"sqlite:///{database_file}", tmp_path)
    with app.test_request_context("/", method="GET"):
        s = open_session()
        s.execute(text("SELECT count(*) FROM written")).scalar_one()
        # a GET's own session only reads; a write beside it is a write from its first statement
        assert _someone_else_can_write_now(database_file) is (open_session is web_db.session)
        s.close()
