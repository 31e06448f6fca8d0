"""The mentor roster: every eligible-track holder once, by their best certificate, by name, in
pages whose cost does not grow with the number of mentors."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, insert

from courseware.domain import clock
from courseware.domain.codes import generate_code
from courseware.domain.statuses import (
    CertificateChange,
    CertificateStatus,
    ContentKind,
    Standing,
)
from courseware.models import Certificate, User
from courseware.services import catalogue, certificates
from courseware.services import roster as mentor_roster
from courseware.services.audit import COMMAND_LINE
from tests.conftest import Auth
from tests.factories import Factory, bulk_certificates


def roster(factory: Factory, days_ahead: int = 0) -> list[tuple[str, str, str]]:
    with factory.session() as s:
        moment = clock.utcnow() + timedelta(days=days_ahead)
        return [(e.holder_name, e.standing, e.status)
                for e in mentor_roster.export(s, moment)]


def test_an_earned_certificate_puts_its_holder_on_the_roster(factory: Factory) -> None:
    trainer = factory.user("trainer")
    learner = factory.user(name="Ria Reader")
    cert = factory.earned_certificate(learner, trainer)
    assert not cert.manual
    assert roster(factory) == [("Ria Reader", Standing.ELIGIBLE, CertificateStatus.VALID)]


def test_the_roster_is_in_name_order_whatever_the_standing(factory: Factory) -> None:
    holders = {name: factory.user(name=name) for name in ["Cleo", "bea", "Abe"]}
    codes = {name: factory.manual_certificate(holder).code for name, holder in holders.items()}
    with factory.session() as s:
        cert = certificates.find(s, codes["Abe"])
        assert cert is not None
        certificates.change_state(s, COMMAND_LINE, cert, CertificateChange.SUSPEND,
                                  "Conduct review", clock.utcnow())
    assert roster(factory) == [
        ("Abe", Standing.LAPSED, CertificateStatus.SUSPENDED),
        ("bea", Standing.ELIGIBLE, CertificateStatus.VALID),  # names sort without case
        ("Cleo", Standing.ELIGIBLE, CertificateStatus.VALID),
    ]
    # 23 months on, every valid certificate is within the 90-day window
    assert [row[1] for row in roster(factory, days_ahead=700)] == [
        Standing.LAPSED, Standing.EXPIRING, Standing.EXPIRING]
    # after expiry everyone has lapsed, the suspended one too: expiry outranks a suspension
    assert {row[2] for row in roster(factory, days_ahead=800)} == {CertificateStatus.EXPIRED}


def test_a_person_appears_once_by_their_best_certificate(factory: Factory) -> None:
    learner = factory.user(name="Dee")
    first = factory.manual_certificate(learner)
    with factory.session() as s:
        old = s.get(Certificate, first.id)
        assert old is not None
        certificates.change_state(s, COMMAND_LINE, old, CertificateChange.REVOKE,
                                  "Issued in error", clock.utcnow())
    second = factory.manual_certificate(learner, reason="Reissued")
    with factory.session() as s:
        [entry] = mentor_roster.export(s, clock.utcnow())
    assert (entry.code, entry.standing) == (second.code, Standing.ELIGIBLE)


def insert_certificates(app: Flask, user: User, *spans: tuple[int, int, bool]) -> list[str]:
    """Certificates of `user` issued and expiring the given days from now, revoked or not,
    inserted as they stand (several cycles of one track)."""
    now = clock.utcnow()
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        track = catalogue.item(s, ContentKind.TRACK, "certified-peer-mentor")
        assert track is not None
        rows = [{"code": generate_code(), "user_id": user.id, "track_id": track.item.id,
                 "track_version_id": track.version.id, "cycle": cycle,
                 "holder_name": f"{user.name} ({cycle})",
                 "issued_at": now + timedelta(days=issued),
                 "expires_at": now + timedelta(days=expires),
                 "revoked_at": now if revoked else None,
                 "revocation_note": "Issued in error" if revoked else None}
                for cycle, (issued, expires, revoked) in enumerate(spans, start=1)]
        s.execute(insert(Certificate), rows)
        s.commit()
    return [str(row["code"]) for row in rows]


def test_several_certificates_show_their_holder_once_by_the_best(app: Flask,
                                                                 factory: Factory) -> None:
    # valid, expired, revoked (the revoked one expires last): the valid one is the best
    dee = factory.user(name="Dee")
    valid, _expired, _revoked = insert_certificates(
        app, dee, (-30, 335, False), (-800, -70, False), (-10, 720, True))
    # expired and revoked: both lapsed, so the later expiry (the revoked one) is shown
    eve = factory.user(name="eve")
    _expired, revoked = insert_certificates(app, eve, (-800, -70, False), (-10, 720, True))
    # two valid, one within the renewal window: the one beyond it is the best
    fay = factory.user(name="Fay")
    _soon, later = insert_certificates(app, fay, (-700, 30, False), (-5, 725, False))
    factory.user(name="Abe")  # no certificate: not on the roster
    with factory.session() as s:
        entries = list(mentor_roster.export(s, clock.utcnow()))
        shown = mentor_roster.page(s, clock.utcnow())
        lapsed = mentor_roster.page(s, clock.utcnow(), standing=Standing.LAPSED)
    assert [(e.code, e.standing, e.status) for e in entries] == [
        (valid, Standing.ELIGIBLE, CertificateStatus.VALID),
        (revoked, Standing.LAPSED, CertificateStatus.REVOKED),
        (later, Standing.ELIGIBLE, CertificateStatus.VALID)]
    assert shown.entries == entries
    assert shown.counts == {Standing.ELIGIBLE: 2, Standing.EXPIRING: 0, Standing.LAPSED: 1}
    assert [e.code for e in lapsed.entries] == [revoked]


def test_pages_walk_every_mentor_once_in_order(app: Flask, factory: Factory) -> None:
    bulk_certificates(app, 120)
    seen: list[str] = []
    with factory.session() as s:
        shown = mentor_roster.page(s, clock.utcnow(), per_page=50)
        assert sum(shown.counts.values()) == 120
        while True:
            seen.extend(e.code for e in shown.entries)
            if shown.next_cursor is None:
                break
            shown = mentor_roster.page(s, clock.utcnow(), after=shown.next_cursor, per_page=50)
        everyone = [e.code for e in mentor_roster.export(s, clock.utcnow())]
        names = [e.holder_name for e in mentor_roster.export(s, clock.utcnow())]
    assert seen == everyone and len(set(seen)) == 120
    assert names == sorted(names, key=str.lower)  # by name, whatever the standing


def test_a_filtered_roster_walks_its_standing_in_name_order(app: Flask, factory: Factory) -> None:
    bulk_certificates(app, 120)
    seen: list[str] = []
    with factory.session() as s:
        shown = mentor_roster.page(s, clock.utcnow(), standing=Standing.LAPSED, per_page=4)
        while True:
            assert {e.standing for e in shown.entries} == {Standing.LAPSED}
            seen.extend(e.holder_name for e in shown.entries)
            if shown.next_cursor is None:
                break
            shown = mentor_roster.page(s, clock.utcnow(), standing=Standing.LAPSED,
                                       after=shown.next_cursor, per_page=4)
        lapsed = [e.holder_name for e in mentor_roster.export(s, clock.utcnow(), Standing.LAPSED)]
    assert seen == lapsed == sorted(lapsed) and len(seen) == shown.counts[Standing.LAPSED] > 4


def test_the_counts_may_be_reused_for_their_max_age(app: Flask, factory: Factory) -> None:
    mentor_roster._COUNTS.clear()  # on PostgreSQL the test database is reused from test to test
    bulk_certificates(app, 3)
    with factory.session() as s:
        first = mentor_roster.page(s, clock.utcnow(), counts_max_age=60).counts
    bulk_certificates(app, 2, start=3)
    with factory.session() as s:
        reused = mentor_roster.page(s, clock.utcnow(), counts_max_age=60)
        fresh = mentor_roster.page(s, clock.utcnow(), counts_max_age=0)
    assert sum(first.values()) == sum(reused.counts.values()) == 3
    assert len(reused.entries) == 5  # the page itself is never cached
    assert sum(fresh.counts.values()) == 5


def test_a_filter_shows_one_standing_and_a_bad_cursor_starts_over(app: Flask,
                                                                    factory: Factory) -> None:
    bulk_certificates(app, 60)
    with factory.session() as s:
        lapsed = mentor_roster.page(s, clock.utcnow(), standing=Standing.LAPSED)
        assert lapsed.entries and {e.standing for e in lapsed.entries} == {Standing.LAPSED}
        assert len(lapsed.entries) == lapsed.counts[Standing.LAPSED]
        first = mentor_roster.page(s, clock.utcnow())
        for cursor in ["", "%%%", "bm90IGpzb24", "WzEsMiwzXQ", "x" * 500]:
            assert mentor_roster.page(s, clock.utcnow(), after=cursor).entries == first.entries


# --- cost does not grow with the data -----------------------------------------------------------

@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = app.extensions["courseware.db"].engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(app: Flask, client: FlaskClient, path: str) -> int:
    client.get(path)  # warm per-process caches (content versions) first
    with counted(app) as statements:
        response = client.get(path)
        body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:300]
    return len(statements)


def test_roster_page_and_export_cost_the_same_with_10_or_1000_mentors(
        app: Flask, client: FlaskClient, auth: Auth, admin: User) -> None:
    auth.login(admin)
    bulk_certificates(app, 10)
    small = {path: statements_for(app, client, path)
             for path in ("/admin/roster", "/admin/roster?standing=expiring",
                          "/admin/roster.csv")}
    bulk_certificates(app, 990, start=10)
    large = {path: statements_for(app, client, path) for path in small}
    assert large == small
    rows = list(csv.reader(io.StringIO(client.get("/admin/roster.csv").get_data(as_text=True))))
    assert len(rows) == 1 + 1000
    page = client.get("/admin/roster").get_data(as_text=True)
    assert page.count('href="/admin/certificates/') == 50 and 'rel="next"' in page


def test_the_dashboard_counts_in_one_statement_and_may_reuse_them(
        database_url: str, tmp_path: object, make_user: object) -> None:
    from pathlib import Path

    from courseware.services import reports
    from tests.conftest import UserFactory, make_app

    reports._SUMMARIES.clear()  # on PostgreSQL the test database is reused from test to test
    app = make_app(database_url, Path(str(tmp_path)), SUMMARY_MAX_AGE_SECONDS=60)
    admin = UserFactory(app)("admin")
    client = app.test_client()
    Auth(client).login(admin)
    bulk_certificates(app, 5)
    first = statements_for(app, client, "/admin/")
    assert ">5<" in client.get("/admin/").get_data(as_text=True)  # certificates issued
    bulk_certificates(app, 5, start=5)
    assert statements_for(app, client, "/admin/") == first
    # within a minute, the counts may be a minute old; the statement count never grows
    assert ">5<" in client.get("/admin/").get_data(as_text=True)
