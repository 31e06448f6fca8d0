"""Trainer calibration: synced anchor sets, blind runs, the gate on live grading, the rule."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from courseware.domain import calibrate
from courseware.domain.content import load_catalogue
from courseware.domain.content.model import content_hash, rubric_hash, to_data
from courseware.infra.config import PROJECT_ROOT
from courseware.models import AuditEvent, CalibrationRun, User
from courseware.services import calibration, catalogue
from tests import helpers
from tests.conftest import Auth, UserFactory, make_app
from tests.factories import Factory

AL = "active-listening"
COURSE = load_catalogue(PROJECT_ROOT)
ANCHORS = {a.id: a for a in helpers.CALIBRATIONS[AL].anchors}


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def client_for(app: Flask, user: User) -> FlaskClient:
    c = app.test_client()
    assert Auth(c).login(user).status_code == 302
    return c


def runs(app: Flask, user: User) -> list[CalibrationRun]:
    with app.app_context(), helpers.session(app) as s:
        rows = list(s.scalars(select(CalibrationRun).where(CalibrationRun.trainer_id == user.id)
                              .order_by(CalibrationRun.id)))
        s.expunge_all()
        return rows


def actions(app: Flask, user: User) -> list[str]:
    with app.app_context(), helpers.session(app) as s:
        return list(s.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == user.id)
                              .order_by(AuditEvent.id)))


@pytest.fixture
def submitted(app: Flask, make_user: UserFactory) -> int:
    """A learner's active-listening role-play, waiting for a first grade."""
    learner = make_user("learner", name="Lena Learner")
    c = client_for(app, learner)
    helpers.read_all(c)
    return helpers.submit_roleplay(c, AL)


# --- content -----------------------------------------------------------------------------------

def test_every_roleplay_has_a_synced_calibration_tied_to_its_rubric(app: Flask) -> None:
    with app.app_context(), helpers.session(app) as s:
        sets = catalogue.items(s, "calibration")
        assert sorted(c.item.slug for c in sets) == sorted(COURSE.roleplays)
        for current in sets:
            spec = catalogue.calibration_spec(current.version)
            data = current.version.data
            roleplay = catalogue.item(s, "roleplay", spec.roleplay)
            assert roleplay is not None
            assert data["roleplay_version_id"] == roleplay.version.id
            assert data["rubric_hash"] == rubric_hash(COURSE.roleplays[spec.roleplay].rubric)
            assert spec == COURSE.calibrations[current.item.slug]
            assert len(spec.anchors) >= 3
            assert {a.kind for a in spec.anchors} == {"pass", "borderline", "critical-fail"}
            assert current.version.content_hash == content_hash(
                {**to_data(spec), "rubric_hash": data["rubric_hash"]})
            assert current.item.title == f"Calibration: {roleplay.item.title}"


def sync(app: Flask) -> Result:
    result = app.test_cli_runner().invoke(args=["courseware", "sync"])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def copied(database_url: str, tmp_path: Path) -> tuple[Flask, Path]:
    """An app whose content is a copy of the course, to edit."""
    root = tmp_path / "content"
    for folder in ("modules", "quizzes", "certificates"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    return make_app(database_url, tmp_path, CONTENT_ROOT=root), root


def test_a_new_rubric_asks_for_recalibration_new_anchors_do_not(
    copied: tuple[Flask, Path], make_user: UserFactory,
) -> None:
    app, root = copied
    trainer = make_user("trainer")
    Factory(app).calibrate(trainer, AL)
    assert standing(app, trainer).calibrated

    # a reworded rationale: a new calibration version, the same rubric, still calibrated
    anchors = root / f"quizzes/{AL}.calibration.toml"
    original = anchors.read_text(encoding="utf-8")
    anchors.write_text(original.replace('rationale = "', 'rationale = "Reworded. ', 1),
                       encoding="utf-8")
    assert "  updated: calibration active-listening" in sync(app).output.splitlines()
    assert standing(app, trainer).calibrated

    # a new descriptor in the rubric: the role-play and its calibration set are new versions
    path = root / f"quizzes/{AL}.roleplay.toml"
    rubric = path.read_text(encoding="utf-8")
    needle = 'descriptor = "'
    path.write_text(rubric.replace(needle, needle + "Plainly: ", 1), encoding="utf-8")
    lines = sync(app).output.splitlines()
    assert "  updated: roleplay active-listening" in lines
    assert "  updated: calibration active-listening" in lines
    found = standing(app, trainer)
    assert not found.calibrated
    assert found.reason == ("The rubric of “Listening to a mentee after a setback” has "
                            "changed since you calibrated on it: calibrate again before grading "
                            "its work.")
    # a run on the new rubric restores it
    Factory(app).calibrate(trainer, AL)
    assert standing(app, trainer).calibrated
    assert [r.number for r in runs(app, trainer)] == [1, 2]


def standing(app: Flask, trainer: User) -> calibration.Standing:
    with app.app_context(), helpers.session(app) as s:
        user = s.get(User, trainer.id)
        current = catalogue.item(s, "roleplay", AL)
        assert user is not None and current is not None
        found = calibration.standing(s, user, current)
        _ = found.reason
        return found


# --- the gate -----------------------------------------------------------------------------------

def test_an_uncalibrated_trainer_sees_why_and_cannot_grade_by_url(
    app: Flask, trainer: User, submitted: int, make_user: UserFactory,
) -> None:
    tc = client_for(app, trainer)
    page = text(tc.get("/grade/"))
    assert "Lena Learner" not in page and "Nothing is waiting" in page
    assert "Not shown until you calibrate" in page
    assert "Calibrate on “Listening to a mentee after a setback” before grading its work. " \
        "(1 waiting)" in page
    assert 'href="/grade/calibration/#calibrate-active-listening"' in page

    for response in (tc.get(f"/grade/submissions/{submitted}"),
                     tc.post(f"/grade/submissions/{submitted}/claim"),
                     tc.post(f"/grade/submissions/{submitted}",
                             data=helpers.rubric_levels(app, submitted)),
                     tc.post(f"/grade/submissions/{submitted}/decide",
                             data={"decision": "confirmed"})):
        assert response.status_code == 403
        refused = text(response)
        assert "Calibrate first" in refused
        assert "Calibrate on “Listening to a mentee after a setback” before grading its " \
            "work." in refused
        assert 'href="/grade/calibration/#calibrate-active-listening"' in refused
    with app.app_context(), helpers.session(app) as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "grade.claim")) is None

    # a live role-play is refused too: the trainer would grade it
    other = make_user("learner")
    response = tc.post("/grade/live", data={
        "learner_email": other.email, "roleplay": AL, "held_on": "2026-01-05",
        "live_format": "phone", "duration_minutes": "20", "notes": ""})
    assert response.status_code == 422
    assert "before grading its work" in text(response)


def test_the_service_refuses_whatever_the_view_does(
    app: Flask, trainer: User, submitted: int,
) -> None:
    from courseware.domain import clock
    from courseware.models import Submission
    from courseware.services import grading

    with app.app_context(), app.extensions["courseware.db"].session() as s:
        sub, me = s.get(Submission, submitted), s.get(User, trainer.id)
        assert sub is not None and me is not None
        with pytest.raises(calibration.NotCalibrated):
            grading.save_grade(s, me, sub, grading.GradeInput(
                {c.id: 4 for c in COURSE.roleplays[AL].rubric.criteria}, {}, "Fine.", 1),
                clock.utcnow())
        assert grading.queue(s, me).items == []
        assert [q.id for q in grading.queue(s, me, calibration_required=False).items] == [submitted]


def test_without_the_requirement_anyone_on_staff_grades(
    database_url: str, tmp_path: Path, make_user: UserFactory,
) -> None:
    app = make_app(database_url, tmp_path, CALIBRATION_REQUIRED=False)
    learner, trainer = make_user("learner"), make_user("trainer")
    lc = client_for(app, learner)
    helpers.read_all(lc)
    sub_id = helpers.submit_roleplay(lc, AL)
    tc = client_for(app, trainer)
    assert "Not shown until you calibrate" not in text(tc.get("/grade/"))
    assert helpers.grade(tc, app, sub_id).status_code == 302


def test_the_setting_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from courseware.factory import create_app

    config = {"INSTANCE_PATH": str(tmp_path / "i"), "DATABASE_URL": "sqlite://",
              "SECRET_KEY": "x"}
    assert create_app(config).config["CALIBRATION_REQUIRED"] is True
    monkeypatch.setenv("CALIBRATION_REQUIRED", "false")
    assert create_app(config).config["CALIBRATION_REQUIRED"] is False


# --- a run, through its pages -------------------------------------------------------------------

def test_a_trainer_calibrates_blind_then_sees_the_reference(
    app: Flask, trainer: User, submitted: int,
) -> None:
    tc = client_for(app, trainer)
    page = text(tc.get("/grade/calibration/"))
    assert "Calibrate on “Listening to a mentee after a setback” before grading" in page
    response = tc.post(f"/grade/calibration/{AL}/start")
    assert response.status_code == 302
    [run] = runs(app, trainer)
    assert sorted(run.order) == sorted(ANCHORS) and run.status == "in_progress"
    assert (run.exact_required, run.adjacent_required) == (70, 95)
    # starting again continues the same run
    assert tc.post(f"/grade/calibration/{AL}/start").headers["Location"] == \
        response.headers["Location"]

    seen = []
    rubric = COURSE.roleplays[AL].rubric
    for position in range(1, len(ANCHORS) + 1):
        raw = tc.get(f"/grade/calibration/runs/{run.id}").get_data(as_text=True)
        page = html.unescape(raw)
        anchor_id = re.search(r'name="anchor" value="([^"]+)"', raw)
        assert anchor_id
        anchor = ANCHORS[anchor_id.group(1)]
        seen.append(anchor.id)
        assert f"Response {position} of {len(ANCHORS)}" in page
        assert helpers.as_shown(anchor.replies[0]) in page
        # blind: no reference level, rationale, title or kind of the anchor
        assert anchor.title not in page and anchor.levels[0].rationale not in page
        assert '" checked' not in raw and "critical-fail" not in page
        data: dict[str, str] = {"anchor": anchor.id}
        for criterion_id, level in anchor.scores().items():
            data[f"level-{criterion_id}"] = str(level)
            if level < rubric.meets_score:
                data[f"comment-{criterion_id}"] = "Below the standard."
        if position == 1:  # a missing level is refused and what was typed comes back
            missing = {k: v for k, v in data.items() if k != "level-reflects-feelings"}
            response = tc.post(f"/grade/calibration/runs/{run.id}", data=missing)
            assert response.status_code == 422
            assert "Choose a level for" in text(response)
            kept = next(k for k in missing if k.startswith("level-"))
            assert f'name="{kept}" value="{missing[kept]}" checked' in \
                response.get_data(as_text=True)
        response = tc.post(f"/grade/calibration/runs/{run.id}", data=data)
        assert response.status_code == 302
        if position == 1:  # the same anchor posted twice (a double click): refused, harmless
            response = tc.post(f"/grade/calibration/runs/{run.id}", data=data)
            assert response.status_code == 422
            assert "already graded that response" in text(response)
            assert '" checked' not in response.get_data(as_text=True)  # not carried over
    assert seen == run.order
    [done] = runs(app, trainer)
    assert (done.status, done.exact_percent, done.adjacent_percent, done.critical_agreed) == \
        ("passed", 100.0, 100.0, True)
    page = text(tc.get(f"/grade/calibration/runs/{run.id}"))
    assert "Calibration passed" in page and "Exact agreement" in page and "100.0%" in page
    for anchor in ANCHORS.values():  # now the reference, with its reasons
        assert helpers.as_shown(anchor.title) in page
        assert helpers.as_shown(anchor.levels[0].rationale) in page
    assert "Lena Learner" in text(tc.get("/grade/"))
    assert helpers.grade(tc, app, submitted).status_code == 302
    calibrating = [a for a in actions(app, trainer) if a.startswith("calibration.")]
    assert calibrating[:2] == ["calibration.start", "calibration.answer"]  # logins aside
    assert actions(app, trainer).count("calibration.answer") == len(ANCHORS)
    assert "calibration.passed" in actions(app, trainer)


def test_a_failed_run_shows_the_differences_and_can_be_retried(
    app: Flask, trainer: User, submitted: int,
) -> None:
    tc = client_for(app, trainer)
    first = helpers.calibrate(tc, AL, miss=1)  # one criterion in six two levels away: 83 %
    page = text(tc.get(f"/grade/calibration/runs/{first}"))
    assert "Not passed" in page and "83.3%" in page and "2 levels apart" in page
    assert "Calibration not passed this time" in page
    assert tc.get(f"/grade/submissions/{submitted}").status_code == 403
    assert "did not pass: try again" in text(tc.get("/grade/calibration/"))
    # a completed run takes no more answers
    response = tc.post(f"/grade/calibration/runs/{first}", data={"anchor": "clear-pass"})
    assert response.status_code == 302
    assert "This calibration is complete" in text(tc.get(f"/grade/calibration/runs/{first}"))

    second = helpers.calibrate(tc, AL)
    assert second != first
    assert [(r.number, r.status) for r in runs(app, trainer)] == [(1, "failed"), (2, "passed")]
    assert tc.get(f"/grade/submissions/{submitted}").status_code == 200
    assert "calibration.failed" in actions(app, trainer)


def test_a_run_is_its_trainers_and_admins_read_completed_ones(
    app: Flask, trainer: User, trainer2: User, admin: User,
) -> None:
    tc = client_for(app, trainer)
    tc.post(f"/grade/calibration/{AL}/start")
    [run] = runs(app, trainer)
    other, boss = client_for(app, trainer2), client_for(app, admin)
    assert other.get(f"/grade/calibration/runs/{run.id}").status_code == 404
    assert boss.get(f"/grade/calibration/runs/{run.id}").status_code == 404  # in progress
    assert other.post(f"/grade/calibration/runs/{run.id}", data={}).status_code == 404
    helpers.calibrate(tc, AL)
    page = text(boss.get(f"/grade/calibration/runs/{run.id}"))
    assert "Passed: Tomas Trainer" in page and "Their level" in page
    assert boss.post(f"/grade/calibration/runs/{run.id}", data={}).status_code == 404


def test_admins_see_each_trainers_calibration(
    app: Flask, trainer: User, trainer2: User, admin: User, factory: Factory,
) -> None:
    factory.calibrate(trainer, AL)
    factory.calibrate(trainer2, AL, miss=2)
    page = text(client_for(app, admin).get("/admin/calibration"))
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r'<th scope="row">([^<]+) <span class="hint">.*?</th>(.*?)</tr>', page, re.S)}
    assert set(rows) == {"Tomas Trainer", "Tariq Trainer", "Ada Admin"}
    assert rows["Tomas Trainer"].count("Calibrated") == 1
    assert rows["Tariq Trainer"].count("Not passed") == 1
    assert rows["Ada Admin"].count("Not calibrated") == len(COURSE.roleplays)
    assert client_for(app, trainer).get("/admin/calibration").status_code == 403


# --- the rule -----------------------------------------------------------------------------------

def _answers(change: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    found = {a.id: a.scores() for a in ANCHORS.values()}
    for (anchor, criterion), level in change.items():
        found[anchor][criterion] = level
    return found


def test_the_rule_thresholds_and_critical_agreement() -> None:
    rubric = COURSE.roleplays[AL].rubric
    anchors = tuple(ANCHORS.values())
    n = len(anchors) * len(rubric.criteria)  # 24 levels

    def result(change: dict[tuple[str, str], int], exact: int = 70,
               adjacent: int = 95) -> calibrate.CalibrationResult:
        return calibrate.compare(rubric, anchors, _answers(change), exact_required=exact,
                                 adjacent_required=adjacent)

    perfect = result({})
    assert perfect.passed and perfect.exact_percent == 100 and perfect.severity == 0
    # one level off on a criterion that is not critical: 23/24 exact, all adjacent
    ref = ANCHORS["clear-pass"].scores()
    one_off = result({("clear-pass", "paraphrases-accurately"): ref["paraphrases-accurately"] - 1})
    assert one_off.passed and one_off.exact == n - 1 and one_off.adjacent == n
    assert one_off.severity == pytest.approx(-1 / n)
    # the critical criterion on the other side of meets_score fails the run, however close
    crit = "checks-safety-proportionately"
    level = ref[crit]
    flipped = rubric.meets_score - 1 if level >= rubric.meets_score else rubric.meets_score
    assert abs(flipped - level) == 1
    critical = result({("clear-pass", crit): flipped})
    assert not critical.passed and not critical.critical_agreed
    assert critical.adjacent == n
    # two levels off once: 23/24 within one level is 95.8 %, a pass at 95 and a fail at 96
    far = {("clear-pass", "paraphrases-accurately"):
           4 if ref["paraphrases-accurately"] <= 2 else 1}
    assert result(far).adjacent == n - 1
    assert result(far).passed and not result(far, adjacent=96).passed
    # exact agreement at 70 %: 17 of 24 (70.8 %) passes, 16 (66.7 %) does not
    shifts = [(a.id, c.id) for a in anchors for c in rubric.criteria if not c.critical]

    def off(count: int) -> dict[tuple[str, str], int]:
        levels = {a.id: a.scores() for a in anchors}
        return {(a, c): levels[a][c] + 1 if levels[a][c] < 4 else 3 for a, c in shifts[:count]}

    assert result(off(7)).exact == 17 and result(off(7)).passed
    assert result(off(8)).exact == 16 and not result(off(8)).passed
    with pytest.raises(KeyError):
        calibrate.compare(rubric, anchors, {}, exact_required=70, adjacent_required=95)
