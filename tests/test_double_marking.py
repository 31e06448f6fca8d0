"""Blind double marking: which work is drawn, the blind second mark, disagreement to moderation."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from courseware.domain import sampling
from courseware.models import AuditEvent, Grade, Moderation, Submission, User
from tests import helpers
from tests.conftest import Auth, UserFactory, make_app
from tests.factories import Factory

AL = "active-listening"


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- which work is drawn -------------------------------------------------------------------------

KEY = sampling.double_mark_key("a secret")


def test_the_draw_is_reproducible_and_keyed() -> None:
    drawn = [i for i in range(1, 2001) if sampling.selected_for_double_marking(KEY, i, 10)]
    assert drawn == [i for i in range(1, 2001)
                     if sampling.selected_for_double_marking(KEY, i, 10)]
    other = sampling.double_mark_key("another secret")
    assert drawn != [i for i in range(1, 2001)
                     if sampling.selected_for_double_marking(other, i, 10)]
    assert sampling.double_mark_key("a secret") == KEY != other


@given(st.integers(min_value=1, max_value=2**31 - 1))
def test_nothing_at_zero_everything_at_a_hundred(submission_id: int) -> None:
    assert not sampling.selected_for_double_marking(KEY, submission_id, 0)
    assert sampling.selected_for_double_marking(KEY, submission_id, 100)


@pytest.mark.parametrize("percent", [5, 10, 25, 50])
def test_about_the_share_asked_for_is_drawn(percent: int) -> None:
    n = 20_000
    drawn = sum(sampling.selected_for_double_marking(KEY, i, percent) for i in range(1, n + 1))
    expected = n * percent / 100
    spread = 4 * (n * percent / 100 * (1 - percent / 100)) ** 0.5  # four standard deviations
    assert expected - spread < drawn < expected + spread


def test_a_larger_share_keeps_every_submission_a_smaller_one_drew() -> None:
    for i in range(1, 3000):
        if sampling.selected_for_double_marking(KEY, i, 10):
            assert sampling.selected_for_double_marking(KEY, i, 20)


def test_the_setting_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from courseware.factory import create_app

    config = {"INSTANCE_PATH": str(tmp_path / "i"), "DATABASE_URL": "sqlite://",
              "SECRET_KEY": "x"}
    monkeypatch.delenv("DOUBLE_MARK_PERCENT", raising=False)
    assert create_app(config).config["DOUBLE_MARK_PERCENT"] == 10
    monkeypatch.setenv("DOUBLE_MARK_PERCENT", "2.5")
    assert create_app(config).config["DOUBLE_MARK_PERCENT"] == 2.5
    monkeypatch.setenv("DOUBLE_MARK_PERCENT", "120")
    with pytest.raises(ValueError, match="between 0 and 100"):
        create_app(config)


def test_the_draw_is_recorded_at_submission(database_url: str, tmp_path: Path,
                                            make_user: UserFactory) -> None:
    app = make_app(database_url, tmp_path, DOUBLE_MARK_PERCENT=50)
    key = sampling.double_mark_key(app.config["SECRET_KEY"])
    factory = Factory(app)
    learners = [make_user("learner") for _ in range(12)]
    for learner in learners:
        factory.read(learner, "foundations", AL)
    subs = [factory.submission(learner, AL) for learner in learners]
    assert [s.double_mark for s in subs] == [
        sampling.selected_for_double_marking(key, s.id, 50) for s in subs]
    assert any(s.double_mark for s in subs) and not all(s.double_mark for s in subs)


# --- the second mark, through the pages ----------------------------------------------------------

@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Flask:
    """Every submission drawn for a second mark."""
    return make_app(database_url, tmp_path, DOUBLE_MARK_PERCENT=100)


def client_for(app: Flask, user: User) -> FlaskClient:
    c = app.test_client()
    assert Auth(c).login(user).status_code == 302
    return c


@pytest.fixture
def crew(app: Flask, make_user: UserFactory, factory: Factory) -> dict[str, FlaskClient]:
    """A learner who has read everything, and three calibrated trainers."""
    people = {"learner": make_user("learner", name="Lena Learner"),
              "first": make_user("trainer", name="Fay First"),
              "second": make_user("trainer", name="Sol Second"),
              "third": make_user("trainer", name="Tam Third")}
    for name in ("first", "second", "third"):
        factory.calibrate(people[name], AL)
    clients = {name: client_for(app, user) for name, user in people.items()}
    helpers.read_all(clients["learner"])
    return clients


def submission(app: Flask, sub_id: int) -> Submission:
    with app.app_context(), helpers.session(app) as s:
        sub = s.get(Submission, sub_id)
        assert sub is not None
        s.expunge_all()
        return sub


def grades(app: Flask, sub_id: int) -> list[Grade]:
    with app.app_context(), helpers.session(app) as s:
        rows = list(s.scalars(select(Grade).where(Grade.submission_id == sub_id)
                              .order_by(Grade.number)))
        s.expunge_all()
        return rows


def test_an_agreeing_second_mark_lets_the_first_grade_stand(
    app: Flask, crew: dict[str, FlaskClient],
) -> None:
    sub_id = helpers.submit_roleplay(crew["learner"], AL)
    assert submission(app, sub_id).double_mark
    response = helpers.grade(crew["first"], app, sub_id, feedback="First: warm and accurate.")
    assert response.status_code == 302
    assert "drawn for a blind second mark" in text(crew["first"].get("/grade/"))
    sub = submission(app, sub_id)
    assert sub.status == "double_marking" and sub.decided_grade_id is None
    page = text(crew["learner"].get(f"/submissions/{sub_id}"))
    assert "Status: <strong>in review</strong>" in page and "First: warm" not in page

    # not for the first grader; blind for the second
    assert "Lena Learner" not in text(crew["first"].get("/grade/"))
    crew["first"].post(f"/grade/submissions/{sub_id}/claim")
    assert "Another trainer gives the second mark" in text(crew["first"].get("/grade/"))
    queue = text(crew["second"].get("/grade/"))
    assert "Lena Learner" in queue and "Second mark (blind)" in queue
    raw = crew["second"].get(f"/grade/submissions/{sub_id}").get_data(as_text=True)
    page = html.unescape(raw)
    assert "Second mark:" in page and "blind second mark" in page
    assert "First: warm" not in page and "Fay First" not in page and '" checked' not in raw
    assert "Grades so far" not in page

    response = helpers.grade(crew["second"], app, sub_id, score=3, feedback="Second: solid.")
    assert response.status_code == 302
    first, second = grades(app, sub_id)
    assert (first.kind, second.kind) == ("grade", "double_mark")
    assert first.outcome == second.outcome == "passed"
    sub = submission(app, sub_id)
    assert sub.status == "passed" and sub.decided_grade_id == first.id
    page = text(crew["learner"].get(f"/submissions/{sub_id}"))
    assert "Outcome: passed" in page and "First: warm" in page and "Second: solid." not in page


def test_a_disagreement_on_pass_or_fail_goes_to_a_blind_third_trainer(
    app: Flask, crew: dict[str, FlaskClient],
) -> None:
    sub_id = helpers.submit_roleplay(crew["learner"], AL)
    helpers.grade(crew["first"], app, sub_id, feedback="First: passes.")
    response = helpers.grade(crew["second"], app, sub_id, score=1,
                             feedback="Second: not yet.")
    assert response.status_code == 302
    assert "The two blind grades disagree on pass or fail" in text(crew["second"].get("/grade/"))
    sub = submission(app, sub_id)
    assert sub.status == "moderation" and sub.decided_grade_id is None
    assert "Outcome:" not in text(crew["learner"].get(f"/submissions/{sub_id}"))

    for name in ("first", "second"):  # neither grader moderates
        assert "Lena Learner" not in text(crew[name].get("/grade/"))
    queue = text(crew["third"].get("/grade/"))
    assert "Moderation (blind)" in queue
    raw = crew["third"].get(f"/grade/submissions/{sub_id}").get_data(as_text=True)
    page = html.unescape(raw)
    for hidden in ("First: passes.", "Second: not yet.", "Fay First", "Sol Second",
                   '" checked', "Grades so far"):
        assert hidden not in page, hidden

    crew["third"].post(f"/grade/submissions/{sub_id}/claim")
    response = helpers.grade(crew["third"], app, sub_id, score=3, feedback="Third: passes.")
    assert response.status_code == 302
    page = text(crew["third"].get(f"/grade/submissions/{sub_id}"))
    assert "Grade under review (Fay First)" in page and "Blind second mark (Sol Second)" in page
    assert "Your blind grade (Tam Third)" in page and "Second: not yet." in page
    response = crew["third"].post(f"/grade/submissions/{sub_id}/decide",
                                  data={"decision": "confirmed"})
    assert response.status_code == 302
    first, second, third = grades(app, sub_id)
    assert (third.kind, third.outcome) == ("moderation", "passed")
    sub = submission(app, sub_id)
    assert sub.status == "passed" and sub.decided_grade_id == first.id
    with app.app_context(), helpers.session(app) as s:
        [record] = s.scalars(select(Moderation)).all()
        assert (record.cause, record.decision, record.outcome_agreed) == \
            ("disagreement", "confirmed", True)
        assert all(len(v["levels"]) == 3 for v in record.agreement.values())
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "grade.double_mark"))
        assert event is not None and event.details["status"] == "moderation"


def test_a_critical_fail_goes_to_moderation_without_a_second_mark(
    app: Flask, crew: dict[str, FlaskClient],
) -> None:
    sub_id = helpers.submit_roleplay(crew["learner"], AL)
    helpers.grade(crew["first"], app, sub_id, fail_critical=True)
    assert submission(app, sub_id).status == "moderation"
    assert "Moderation (blind)" in text(crew["second"].get("/grade/"))


def test_a_live_roleplay_is_never_double_marked(
    app: Flask, crew: dict[str, FlaskClient], make_user: UserFactory,
) -> None:
    other = make_user("learner", name="Liv Live")
    response = crew["first"].post("/grade/live", data={
        "learner_email": other.email, "roleplay": AL, "held_on": "2026-01-05",
        "live_format": "phone", "duration_minutes": "20", "notes": "Went well."})
    assert response.status_code == 302
    sub_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert helpers.grade(crew["first"], app, sub_id).status_code == 302
    sub = submission(app, sub_id)
    assert not sub.double_mark and sub.status == "passed"
