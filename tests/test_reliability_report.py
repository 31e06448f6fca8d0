"""The reliability report page and its CSV exports, over grades made through the services."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from flask import Flask

from courseware.domain import reliability as stats
from courseware.models import User
from courseware.services import reliability
from tests import helpers
from tests.conftest import Auth, UserFactory, make_app
from tests.factories import Factory

AL = "active-listening"
CRITERIA = 6  # the active-listening rubric's criteria


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Flask:
    return make_app(database_url, tmp_path, DOUBLE_MARK_PERCENT=100)


@pytest.fixture
def graded(app: Flask, make_user: UserFactory, factory: Factory) -> dict[str, User]:
    """Two double-marked submissions: Avery and Blake agree on one, Blake is a level lower on
    every criterion of the other; Casey calibrated two criteria off and never graded."""
    people = {"avery": make_user("trainer", name="Avery"),
              "blake": make_user("trainer", name="Blake"),
              "casey": make_user("trainer", name="Casey")}
    factory.calibrate(people["avery"], AL)
    factory.calibrate(people["blake"], AL)
    factory.calibrate(people["casey"], AL, miss=2)
    for second_score in (4, 3):
        learner = make_user("learner")
        factory.read(learner, "foundations", AL)
        sub = factory.submission(learner, AL)
        factory.grade(people["avery"], sub, score=4)
        factory.grade(people["blake"], sub, score=second_score)
    return people


def test_the_numbers(app: Flask, graded: dict[str, User]) -> None:
    with app.app_context(), helpers.session(app) as s:
        report = reliability.build(s, samples=200)
    rows = {r.trainer.name: r for r in report.trainers}
    assert set(rows) == {"Avery", "Blake", "Casey"}
    avery, blake, casey = rows["Avery"], rows["Blake"], rows["Casey"]
    assert (avery.grades, blake.grades, casey.grades) == (2, 2, 0)
    assert len(avery.pairs) == 2 * CRITERIA
    assert avery.exact == 0.5 and avery.adjacent == 1.0
    assert avery.severity_vs_others == 0.5 and blake.severity_vs_others == -0.5
    assert avery.severity_vs_reference == 0 and avery.reference_exact == 1.0
    assert casey.pairs == [] and casey.reference_exact is not None
    assert casey.reference_exact < 1.0 and casey.severity_vs_reference != 0
    [pair] = report.pairs
    assert (pair.first.name, pair.second.name, len(pair.pairs)) == ("Avery", "Blake", 12)
    # Avery gave 4 throughout: no variation on one side, so the kappa is 0 (chance level)
    assert pair.kappa == pytest.approx(0.0)
    assert len(report.criteria) == CRITERIA
    assert all(c.exact == 0.5 and c.adjacent == 1.0 for c in report.criteria)
    assert (report.double_marked, report.units) == (2, 2 * CRITERIA)
    expected = stats.krippendorff_alpha([(4, 4)] * CRITERIA + [(4, 3)] * CRITERIA)
    assert report.alpha == pytest.approx(expected)


def test_the_page_draws_charts_without_script_or_style(app: Flask, graded: dict[str, User],
                                                       admin: User, learner: User) -> None:
    for user in (graded["casey"], admin):
        client = app.test_client()
        Auth(client).login(user)
        response = client.get("/grade/reports/reliability")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert page.count("<svg") == 3 and page.count('role="img"') == 3
        assert "style=" not in page and "<script" not in page
        assert "Krippendorff&#39;s alpha (ordinal)" in page or "Krippendorff's alpha" in page
        assert re.search(r"<th scope=\"row\">Avery</th><td>2</td><td>12</td><td>50.0%</td>"
                         r"<td>100.0%</td><td>\+0.50</td>", page)
        assert "<td>Avery</td><td>Blake</td><td>12</td><td>50.0%</td><td>0.0</td>" in page
    learner_client = app.test_client()
    Auth(learner_client).login(learner)
    assert learner_client.get("/grade/reports/reliability").status_code == 403
    assert app.test_client().get("/grade/reports/reliability").status_code == 302


def test_the_csv_exports(app: Flask, graded: dict[str, User]) -> None:
    client = app.test_client()
    Auth(client).login(graded["avery"])

    def table(name: str) -> list[dict[str, str]]:
        response = client.get(f"/grade/reports/reliability/{name}.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert f'filename="reliability-{name}.csv"' in response.headers["Content-Disposition"]
        return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))

    trainers = {r["trainer"]: r for r in table("trainers")}
    assert trainers["Blake"]["exact_percent"] == "50.0"
    assert trainers["Blake"]["severity_vs_other_grader"] == "-0.5"
    assert trainers["Casey"]["paired_levels"] == "0" and trainers["Casey"]["exact_percent"] == ""
    criteria = table("criteria")
    assert len(criteria) == CRITERIA and {c["adjacent_percent"] for c in criteria} == {"100.0"}
    [pair] = table("pairs")
    assert pair == {"trainer": "Avery", "other_trainer": "Blake", "paired_levels": "12",
                    "exact_percent": "50.0", "quadratic_weighted_kappa": "0.0"}
    assert client.get("/grade/reports/reliability/other.csv").status_code == 404


def test_an_empty_report(client, trainer: User) -> None:  # type: ignore[no-untyped-def]
    Auth(client).login(trainer)
    page = client.get("/grade/reports/reliability").get_data(as_text=True)
    assert "No blind grades or calibrations yet." in page
    assert "No submission has two blind grades yet." in page
