"""Reading modules: the course home, prerequisites, the module page, read marks and feedback."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from courseware.domain.content import load_catalogue
from courseware.domain.rubric import pass_rule
from courseware.infra.config import PROJECT_ROOT
from courseware.models import ModuleFeedback, ModuleRead, User
from courseware.services import learning
from tests import helpers
from tests.conftest import Auth, make_app


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def lc(app: Flask, learner: User) -> FlaskClient:
    c = app.test_client()
    assert Auth(c).login(learner).status_code == 302
    return c


def reads(app: Flask, user: User) -> list[str]:
    with app.app_context(), helpers.session(app) as s:
        me = s.get(User, user.id)
        assert me is not None
        return [state.slug for state in learning.module_states(s, me) if state.read]


def feedback_rows(app: Flask) -> list[tuple[int, int, str | None]]:
    with app.app_context(), helpers.session(app) as s:
        return [tuple(r) for r in s.execute(select(  # type: ignore[misc]
            ModuleFeedback.user_id, ModuleFeedback.rating, ModuleFeedback.comment))]


# --- the course home and locks ------------------------------------------------------------------

def test_home_lists_the_modules_in_order_with_lock_reasons(lc: FlaskClient) -> None:
    page = text(lc.get("/"))
    titles = re.findall(r'<h3[^>]*>\s*(?:<a [^>]*>)?([^<]+)', page)
    assert [t.strip() for t in titles][:9] == [
        "Foundations of peer mentoring", "Active listening", "Boundaries and confidentiality",
        "Privacy and records", "Crisis response", "Overdose response and harm reduction",
        "Mandated reporting and duty to warn", "Referral and resources",
        "Remote mentoring and safeguarding young people"]
    assert 'href="/modules/foundations"' in page
    assert 'href="/modules/active-listening"' not in page  # locked: a title, not a link
    assert "Read Foundations of peer mentoring first" in page


def test_a_locked_module_is_refused_with_its_reason(lc: FlaskClient) -> None:
    response = lc.get("/modules/boundaries")
    assert response.status_code == 403
    assert "This module is locked. Read Active listening first." in text(response)
    # the lesson itself is not in the answer
    assert "lesson-body" not in text(response)


def test_marking_a_locked_module_read_is_refused_on_the_server(app: Flask, lc: FlaskClient,
                                                                learner: User) -> None:
    assert lc.post("/modules/active-listening/read").status_code == 403
    assert reads(app, learner) == []


def test_reading_in_order_unlocks_the_next_module(app: Flask, lc: FlaskClient,
                                                  learner: User) -> None:
    response = lc.post("/modules/foundations/read")
    assert response.status_code == 302
    assert response.headers["Location"] == "/modules/foundations#next-steps"
    page = text(lc.get("/modules/foundations"))
    assert "“Foundations of peer mentoring” is marked as read." in page
    assert "You have marked this module as read." in page
    assert "Mark this module as read" not in page
    assert lc.get("/modules/active-listening").status_code == 200
    assert reads(app, learner) == ["foundations"]
    assert 'href="/modules/active-listening"' in text(lc.get("/"))


def test_marking_read_twice_keeps_one_mark(app: Flask, lc: FlaskClient, learner: User) -> None:
    assert lc.post("/modules/foundations/read").status_code == 302
    lc.get("/")  # the first flash is shown
    assert lc.post("/modules/foundations/read").status_code == 302
    assert "is marked as read" in text(lc.get("/modules/foundations"))
    with app.app_context(), helpers.session(app) as s:
        assert s.scalar(select(func.count()).select_from(ModuleRead)
                        .where(ModuleRead.user_id == learner.id)) == 1


def test_one_learners_reading_does_not_unlock_anothers(app: Flask, lc: FlaskClient,
                                                       make_user: Any) -> None:
    helpers.read_module(lc, "foundations")
    other = app.test_client()
    Auth(other).login(make_user("learner"))
    assert other.get("/modules/active-listening").status_code == 403


def test_unknown_module_is_404(lc: FlaskClient) -> None:
    for path in ("/modules/nope", "/modules/nope/feedback"):
        assert lc.get(path).status_code == 404
    assert lc.post("/modules/nope/read").status_code == 404


# --- the module page ----------------------------------------------------------------------------

def test_module_page_shows_the_lesson_and_the_next_steps(lc: FlaskClient) -> None:
    page = text(lc.get("/modules/foundations"))
    assert "<h1>Foundations of peer mentoring</h1>" in page
    assert "By the end of this module you will be able to" in page
    assert '<nav class="toc" aria-labelledby="toc-title">' in page
    assert "Mark this module as read" in page
    assert 'href="/quizzes/foundations"' in page
    assert "(opens once you mark the module as read)" in page
    # foundations has no role-play; active listening has both
    assert "/roleplays/foundations" not in page
    helpers.read_module(lc, "foundations")
    page = text(lc.get("/modules/active-listening"))
    assert page.index('href="/quizzes/active-listening"') < page.index(
        'href="/roleplays/active-listening"')


def test_every_toc_entry_points_at_a_heading_of_the_lesson(lc: FlaskClient) -> None:
    page = lc.get("/modules/foundations").get_data(as_text=True)
    toc = page[page.index('<nav class="toc"'):page.index("</nav>", page.index('<nav class="toc"'))]
    anchors = re.findall(r'href="#([^"]+)"', toc)
    assert len(anchors) >= 5
    for anchor in anchors:
        assert re.search(rf'<h[23] id="{re.escape(anchor)}"', page), anchor


def test_a_new_version_of_a_module_shows_at_once(database_url: str, tmp_path: Path,
                                                 make_user: Any) -> None:
    root = tmp_path / "content"
    for folder in ("modules", "quizzes", "certificates"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    app = make_app(database_url, tmp_path, CONTENT_ROOT=root)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["courseware", "sync"]).exit_code == 0
    client = app.test_client()
    with app.app_context():
        user = make_user("learner")
    Auth(client).login(user)
    before = text(client.get("/modules/foundations"))
    assert "A sentence added in a new version." not in before

    path = root / "modules/foundations.md"
    source = path.read_text(encoding="utf-8")
    first_heading = source.index("\n## ")
    path.write_text(source[:first_heading] + "\n\nA sentence added in a new version.\n"
                    + source[first_heading:], encoding="utf-8")
    result = runner.invoke(args=["courseware", "sync"])
    assert result.exit_code == 0 and "updated: module foundations" in result.output
    assert "A sentence added in a new version." in text(client.get("/modules/foundations"))

    path.write_text(source, encoding="utf-8")  # reverting points back at the first version
    assert runner.invoke(args=["courseware", "sync"]).exit_code == 0
    assert "A sentence added in a new version." not in text(client.get("/modules/foundations"))


# --- feedback -----------------------------------------------------------------------------------

def test_feedback_is_asked_for_then_summarised(app: Flask, lc: FlaskClient,
                                               learner: User) -> None:
    page = text(lc.get("/modules/foundations"))
    assert "Tell us how useful this module was" in page
    form = text(lc.get("/modules/foundations/feedback"))
    assert "<h1>Feedback on “Foundations of peer mentoring”</h1>" in form
    assert '<legend>How useful was this module?</legend>' in form
    assert not re.search(r'name="rating" value="\d" checked', form)

    response = lc.post("/modules/foundations/feedback",
                       data={"rating": "4", "comment": "  The dialogues helped.  "})
    assert response.status_code == 302
    assert response.headers["Location"] == "/modules/foundations#feedback"
    page = text(lc.get("/modules/foundations"))
    assert "Thank you: your feedback helps us improve this module." in page
    assert "You rated this module 4 out of 5 and left a comment." in page
    assert feedback_rows(app) == [(learner.id, 4, "The dialogues helped.")]

    form = text(lc.get("/modules/foundations/feedback"))
    assert 'name="rating" value="4" checked' in form
    assert ">\r\nThe dialogues helped.</textarea>" in form


def test_changing_feedback_updates_the_one_row(app: Flask, lc: FlaskClient,
                                               learner: User) -> None:
    lc.post("/modules/foundations/feedback", data={"rating": "2", "comment": "Too long."})
    lc.post("/modules/foundations/feedback", data={"rating": "5", "comment": ""})
    assert feedback_rows(app) == [(learner.id, 5, None)]
    assert "You rated this module 5 out of 5. Thank you." in text(lc.get("/modules/foundations"))


@pytest.mark.parametrize(("data", "message"), [
    ({"comment": "No rating chosen."}, "Choose a rating from 1 to 5."),
    ({"rating": "6", "comment": "Out of range."}, "Not a valid choice"),
    ({"rating": "4", "comment": "x" * 2001}, "2000"),
])
def test_bad_feedback_is_refused_and_keeps_what_was_typed(
    app: Flask, lc: FlaskClient, data: dict[str, str], message: str,
) -> None:
    # an earlier rating must not stand in for a missing one
    lc.post("/modules/foundations/feedback", data={"rating": "3", "comment": "First."})
    response = lc.post("/modules/foundations/feedback", data=data)
    assert response.status_code == 422
    page = text(response)
    assert "There is a problem" in page and message in page
    assert data["comment"] in page
    assert [row[1:] for row in feedback_rows(app)] == [(3, "First.")]


def test_feedback_on_a_locked_module_is_refused(app: Flask, lc: FlaskClient) -> None:
    assert lc.get("/modules/boundaries/feedback").status_code == 403
    assert lc.post("/modules/boundaries/feedback", data={"rating": "5"}).status_code == 403
    assert feedback_rows(app) == []


def test_feedback_reaches_the_admin_summary(app: Flask, lc: FlaskClient, make_user: Any) -> None:
    lc.post("/modules/foundations/feedback", data={"rating": "5", "comment": "Clear."})
    other = app.test_client()
    Auth(other).login(make_user("learner"))
    other.post("/modules/foundations/feedback", data={"rating": "2"})
    admin = app.test_client()
    Auth(admin).login(make_user("admin"))
    page = text(admin.get("/admin/feedback"))
    section = page[page.index("Foundations of peer mentoring"):]
    section = section[:section.index("</section>")]
    assert "2 ratings, average 3.5" in section
    assert "Clear." in section


# --- the role-play page -------------------------------------------------------------------------

def test_the_roleplay_page_states_the_pass_rule_in_plain_words(lc: FlaskClient) -> None:
    rubric = load_catalogue(PROJECT_ROOT).roleplays["boundaries"].rubric
    rule = pass_rule(rubric)
    assert rule.startswith(f"To pass: at least {rubric.pass_percent}% of the points")
    if rubric.min_score == 2 and all(c.levels[0].score == 1 for c in rubric.criteria):
        assert rule.endswith(f"no criterion at “{rubric.criteria[0].levels[0].label}”.")
    assert rule in text(lc.get("/roleplays/boundaries"))
