"""Steps a learner or trainer takes, through the HTTP client, shared by the tests."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from courseware.domain.content import load_catalogue
from courseware.domain.content.crisis import country_values
from courseware.domain.content.model import QuizSpec
from courseware.domain.content.placeholders import fill_text
from courseware.infra.config import PROJECT_ROOT
from courseware.models import ContentItem, QuizAttempt, Submission
from courseware.services import catalogue

# the course as the content files define it, in course order
_COURSE = load_catalogue(PROJECT_ROOT)
MODULES = [slug for slug, _ in sorted(_COURSE.modules.items(), key=lambda m: m[1].order)]
ROLEPLAYS = sorted(_COURSE.roleplays, key=MODULES.index)
MODULE_TITLES = {slug: spec.title for slug, spec in _COURSE.modules.items()}


def as_shown(text: str) -> str:
    """Course text as a page shows it: placeholders filled in with the default (US) lines."""
    return fill_text(text, country_values(PROJECT_ROOT, "US"))


def session(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["courseware.db"].session(write=False)


def read_module(client: FlaskClient, slug: str) -> None:
    response = client.post(f"/modules/{slug}/read")
    assert response.status_code == 302, response.status_code


def read_all(client: FlaskClient) -> None:
    for slug in MODULES:
        read_module(client, slug)


def start_quiz(client: FlaskClient, slug: str) -> int:
    response = client.post(f"/quizzes/{slug}/start")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    match = re.search(r"/attempts/(\d+)", response.headers["Location"])
    assert match
    return int(match.group(1))


def attempt_and_spec(app: Flask, attempt_id: int) -> tuple[QuizAttempt, QuizSpec]:
    with app.app_context(), session(app) as s:
        attempt = s.get(QuizAttempt, attempt_id)
        assert attempt is not None
        spec = catalogue.quiz_spec(attempt.quiz_version)
        s.expunge_all()
        return attempt, spec


def answers_for(app: Flask, attempt_id: int, wrong: int = 0) -> dict[str, Any]:
    """Form data answering every question right, except the first `wrong` ones."""
    attempt, spec = attempt_and_spec(app, attempt_id)
    data: dict[str, Any] = {}
    for position, shown in enumerate(attempt.presented):
        question = spec.question(shown["id"])
        assert question is not None
        order = shown["order"]
        if position < wrong:
            picks = [p for p, bank in enumerate(order) if not question.options[bank].correct][:1]
        else:
            picks = [p for p, bank in enumerate(order) if question.options[bank].correct]
        data[f"q{position}"] = [str(p) for p in picks]
    return data


def pass_quiz(client: FlaskClient, app: Flask, slug: str) -> int:
    attempt_id = start_quiz(client, slug)
    response = client.post(f"/attempts/{attempt_id}", data=answers_for(app, attempt_id))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return attempt_id


def start_roleplay(client: FlaskClient, slug: str) -> int:
    response = client.post(f"/roleplays/{slug}/start")
    assert response.status_code == 302
    match = re.search(r"/submissions/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def submit_roleplay(client: FlaskClient, slug: str, text: str = "I hear you.") -> int:
    submission_id = start_roleplay(client, slug)
    data = {f"reply{i}": f"{text} ({i + 1})" for i in range(12)}
    response = client.post(f"/submissions/{submission_id}", data={**data, "action": "submit"})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return submission_id


def rubric_levels(app: Flask, submission_id: int, *, score: int | None = None,
                  fail_critical: bool = False) -> dict[str, str]:
    """Grading form data: every criterion at `score` (default: top level)."""
    with app.app_context(), session(app) as s:
        sub = s.get(Submission, submission_id)
        assert sub is not None
        rubric = catalogue.roleplay_spec(sub.roleplay_version).rubric
    data: dict[str, str] = {"feedback": "Clear, warm replies. Keep it up."}
    for criterion in rubric.criteria:
        level = criterion.max_score if score is None else score
        if fail_critical and criterion.critical:
            level = criterion.levels[0].score
        data[f"level-{criterion.id}"] = str(level)
        if level < rubric.meets_score:
            data[f"comment-{criterion.id}"] = "Ask directly and follow the protocol."
    return data


def grade(client: FlaskClient, app: Flask, submission_id: int, **kwargs: Any):  # type: ignore[no-untyped-def]
    client.post(f"/grade/submissions/{submission_id}/claim")
    data = rubric_levels(app, submission_id, **{k: v for k, v in kwargs.items()
                                                 if k in ("score", "fail_critical")})
    data.update({k: v for k, v in kwargs.items() if k not in ("score", "fail_critical")})
    return client.post(f"/grade/submissions/{submission_id}", data=data)


CALIBRATIONS = {spec.roleplay: spec for spec in _COURSE.calibrations.values()}


def calibrate(client: FlaskClient, slug: str, *, miss: int = 0) -> int:
    """Calibrate the client's trainer on a role-play through its pages: each anchor, as the page
    names it, graded at its reference levels (the first `miss` criteria two levels away).
    Returns the run's id."""
    response = client.post(f"/grade/calibration/{slug}/start")
    assert response.status_code == 302, response.status_code
    match = re.search(r"/grade/calibration/runs/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    run_id = int(match.group(1))
    anchors = {a.id: a for a in CALIBRATIONS[slug].anchors}
    rubric = _COURSE.roleplays[slug].rubric
    for _ in anchors:
        page = client.get(f"/grade/calibration/runs/{run_id}").get_data(as_text=True)
        shown = re.search(r'name="anchor" value="([^"]+)"', page)
        assert shown, page[:2000]
        levels = anchors[shown.group(1)].scores()
        for criterion in rubric.criteria[:miss]:
            level = levels[criterion.id]
            levels[criterion.id] = level + 2 if level + 2 <= criterion.max_score \
                else criterion.min_level_score
        data = {"anchor": shown.group(1)}
        for criterion_id, level in levels.items():
            data[f"level-{criterion_id}"] = str(level)
            if level < rubric.meets_score:
                data[f"comment-{criterion_id}"] = "As the descriptor says."
        response = client.post(f"/grade/calibration/runs/{run_id}", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return run_id


def item_id(app: Flask, kind: str, slug: str) -> int:
    with app.app_context(), session(app) as s:
        ident = s.scalar(select(ContentItem.id).where(ContentItem.kind == kind,
                                                      ContentItem.slug == slug))
        assert ident is not None
        return ident
