"""On PostgreSQL, no list page and no learner page reads a large table in full.

Every statement a page runs is captured with its parameters and explained with sequential scans
disabled: where an index can serve the query the planner then uses it, so a "Seq Scan" left on a
large table means no index fits that filter or sort (the table is small here; at a national
program's size that scan is the page's cost). Other learners' rows are seeded first, so a
per-learner query has something to skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from courseware.models import User
from tests.conftest import Auth
from tests.factories import Factory, bulk_certificates, bulk_submissions

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="query plans are checked on the PostgreSQL run")

LARGE = {"user", "submission", "grade", "quiz_attempt", "quiz_answer", "module_read",
         "certificate", "certificate_evidence", "audit_event", "module_feedback"}


def captured(app: Flask, client: FlaskClient, path: str) -> list[tuple[str, object]]:
    statements: list[tuple[str, object]] = []

    def keep(_conn: object, _cursor: object, statement: str, parameters: object,
             *_rest: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    engine = app.extensions["courseware.db"].engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert response.status_code == 200, path
    return statements


def full_scans(app: Flask, statements: list[tuple[str, object]]) -> Iterator[str]:
    engine = app.extensions["courseware.db"].engine
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("ANALYZE")
        cursor.execute("SET enable_seqscan = off")
        for statement, parameters in statements:
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            for table in LARGE:
                if f'Seq Scan on "{table}"' in plan or f"Seq Scan on {table} " in plan + " ":
                    yield f"{table}: {statement[:160]}...\n{plan}"
    finally:
        raw.rollback()
        raw.close()


@pytest.fixture
def crowd(app: Flask, factory: Factory) -> None:
    """Other people's rows: certificates, passed work and attempts of many other learners,
    and a queue of work waiting for a grade."""
    bulk_certificates(app, 300)
    bulk_submissions(app, 200)
    trainer = factory.user("trainer")
    factory.calibrate(trainer, "active-listening")
    for n in range(3):
        other = factory.user(name=f"Other {n}")
        factory.read(other)
        factory.quiz_attempt(other, "foundations")
        factory.grade(trainer, factory.submission(other, "active-listening"))


@pytest.mark.parametrize("path", ["/", "/profile", "/modules/foundations",
                                  "/quizzes/foundations", "/roleplays/active-listening"])
def test_a_learners_pages_read_only_their_own_rows(app: Flask, crowd: None, factory: Factory,
                                                   path: str) -> None:
    learner = factory.user(name="Lena")
    factory.read(learner, "foundations")
    client = app.test_client()
    Auth(client).login(learner)
    problems = list(full_scans(app, captured(app, client, path)))
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users?page=3", "/admin/certificates",
                                  "/admin/roster", "/admin/roster?standing=lapsed",
                                  "/admin/audit?target_type=certificate",
                                  "/grade/reports/quizzes?quiz=foundations", "/grade/"])
def test_list_pages_use_indexes(app: Flask, crowd: None, client: FlaskClient, auth: Auth,
                                admin: User, factory: Factory, path: str) -> None:
    factory.calibrate(admin, "active-listening")  # so the queue shows work
    auth.login(admin)
    problems = list(full_scans(app, captured(app, client, path)))
    assert not problems, "\n\n".join(problems)


def test_the_roster_export_walks_people_in_name_order(app: Flask, crowd: None) -> None:
    """The export turns hash joins off for its own transaction (the planner, expecting every
    row, would hash every certificate and run each person's best-certificate subquery twice),
    and only for it: the next transaction plans as usual."""
    from sqlalchemy import text

    from courseware.domain import clock
    from courseware.services import roster

    database = app.extensions["courseware.db"]
    with database.session(write=False) as s:
        entries = roster.export(s, clock.utcnow())
        first = next(entries)
        assert first.holder_name
        assert s.execute(text("SHOW enable_hashjoin")).scalar() == "off"
        statement = roster._rows(clock.utcnow(), roster.eligible_track_versions(s), None)
        sql = str(statement.compile(dialect=database.engine.dialect,
                                    compile_kwargs={"literal_binds": True}))
        plan = "\n".join(s.execute(text("EXPLAIN " + sql)).scalars())
        assert "Hash Join" not in plan, plan
        entries.close()
        s.rollback()
        assert s.execute(text("SHOW enable_hashjoin")).scalar() == "on"
