"""Written and live role-plays and their grading, through HTTP and the grading service."""

from __future__ import annotations

import html
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from courseware.domain import clock
from courseware.domain.content.model import RoleplaySpec
from courseware.models import AuditEvent, Grade, Moderation, Submission, User
from courseware.services import catalogue, grading
from tests import helpers
from tests.conftest import Auth, UserFactory
from tests.factories import Factory

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
AL = "active-listening"  # one critical criterion (the safety check-in), 8 lines
AL_SAFETY = "checks-safety-proportionately"
BOUNDARIES = "boundaries"  # two critical criteria
CRITICAL = "keeps-confidentiality-limits"


# --- helpers -------------------------------------------------------------------------------------

def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def client_for(app: Flask, user: User, *, read: bool = False) -> FlaskClient:
    c = app.test_client()
    assert Auth(c).login(user).status_code == 302
    if read:
        helpers.read_all(c)
    return c


def spec_for(app: Flask, slug: str) -> RoleplaySpec:
    with app.app_context(), helpers.session(app) as s:
        current = catalogue.item(s, "roleplay", slug)
        assert current is not None
        return catalogue.roleplay_spec(current.version)


def submission(app: Flask, submission_id: int) -> Submission:
    with app.app_context(), helpers.session(app) as s:
        sub = s.get(Submission, submission_id)
        assert sub is not None
        s.expunge_all()
        return sub


def grades(app: Flask, submission_id: int) -> list[Grade]:
    with app.app_context(), helpers.session(app) as s:
        rows = list(s.scalars(select(Grade).where(Grade.submission_id == submission_id)
                              .order_by(Grade.number)))
        s.expunge_all()
        return rows


def submissions_of(app: Flask, user: User) -> list[Submission]:
    with app.app_context(), helpers.session(app) as s:
        rows = list(s.scalars(select(Submission).where(Submission.learner_id == user.id)
                              .order_by(Submission.id)))
        s.expunge_all()
        return rows


def audit(app: Flask, action: str, target_id: int | None = None) -> list[AuditEvent]:
    with app.app_context(), helpers.session(app) as s:
        stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        if target_id is not None:
            stmt = stmt.where(AuditEvent.target_id == str(target_id))
        rows = list(s.scalars(stmt))
        s.expunge_all()
        return rows


def replies(spec: RoleplaySpec, prefix: str = "Reply") -> dict[str, str]:
    return {f"reply{i}": f"{prefix} number {i + 1}, in my own words."
            for i in range(len(spec.lines))}


def submit(c: FlaskClient, app: Flask, slug: str = AL, prefix: str = "Reply") -> int:
    sub_id = helpers.start_roleplay(c, slug)
    response = c.post(f"/submissions/{sub_id}",
                      data={**replies(spec_for(app, slug), prefix), "action": "submit"})
    assert response.status_code == 302, text(response)[:800]
    return sub_id


def levels_form(app: Flask, slug: str, scores: dict[str, int] | int, *,
                feedback: str = "Warm and careful throughout.",
                comment: str = "Name the feeling before moving on.") -> dict[str, str]:
    """Grading form data by level rank (0 = Not yet ... 3 = Exceeds) per criterion id; an int
    puts every criterion at that rank. Ranks keep the tests independent of the score scale."""
    spec = spec_for(app, slug)
    data = {"feedback": feedback}
    for c in spec.rubric.criteria:
        rank = scores if isinstance(scores, int) else scores.get(c.id, len(c.levels) - 1)
        score = c.levels[rank].score
        data[f"level-{c.id}"] = str(score)
        if score < spec.rubric.meets_score:
            data[f"comment-{c.id}"] = f"{comment} ({c.id})"
    return data


def grade(c: FlaskClient, sub_id: int, data: dict[str, str], **extra: str) -> Any:
    return c.post(f"/grade/submissions/{sub_id}", data={**data, **extra})


def service_submission(app: Flask, user: User, slug: str = AL) -> int:
    """A submission made through the service layer, as a trainer acting as a learner would."""
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        person = s.get(User, user.id)
        current = catalogue.item(s, "roleplay", slug)
        assert person is not None and current is not None
        sub = grading.start(s, person, current, clock.utcnow())
        sent = grading.submit(s, person, sub, [f"mine {i}" for i in range(len(sub.replies))],
                              clock.utcnow())
        assert sent
        s.commit()
        return sub.id


def checked(page: str, criterion: str, rank: int) -> bool:
    """Whether the level of this rank (0 = lowest, as in levels_form) is checked on the page."""
    score = rank + 1  # the course rubrics score their four levels 1-4
    return re.search(rf'name="level-{re.escape(criterion)}" value="{score}" checked', page) \
        is not None


@pytest.fixture
def lc(app: Flask, learner: User) -> FlaskClient:
    """The learner's client, every module read."""
    return client_for(app, learner, read=True)


@pytest.fixture
def tc(app: Flask, trainer: User, factory: Factory) -> FlaskClient:
    """The trainer's client; calibrated on every role-play (calibration has its own tests)."""
    factory.calibrate(trainer)
    return client_for(app, trainer)


@pytest.fixture
def tc2(app: Flask, trainer2: User, factory: Factory) -> FlaskClient:
    factory.calibrate(trainer2)
    return client_for(app, trainer2)


# --- the learner's written role-play -----------------------------------------------------------

def test_roleplay_is_closed_until_its_module_is_read(app: Flask, learner: User) -> None:
    c = client_for(app, learner)
    page = text(c.get(f"/roleplays/{AL}"))
    assert "first: the role-play opens once it is marked as read" in page
    assert "Start the role-play" not in page
    response = c.post(f"/roleplays/{AL}/start")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/roleplays/{AL}")
    assert "Read the module" in text(c.get(f"/roleplays/{AL}"))
    assert submissions_of(app, learner) == []

    helpers.read_module(c, "foundations")
    helpers.read_module(c, AL)
    assert "Start the role-play" in text(c.get(f"/roleplays/{AL}"))
    sub_id = helpers.start_roleplay(c, AL)
    assert [s.id for s in submissions_of(app, learner)] == [sub_id]


def test_start_makes_a_draft_with_one_empty_reply_per_line(
    app: Flask, lc: FlaskClient, learner: User, frozen: Any,
) -> None:
    spec = spec_for(app, AL)
    sub_id = helpers.start_roleplay(lc, AL)
    sub = submission(app, sub_id)
    assert sub.status == "draft" and sub.mode == "written" and sub.learner_id == learner.id
    assert sub.replies == [""] * len(spec.lines) and len(spec.lines) == 8
    assert sub.previous_id is None and sub.submitted_at is None
    # starting again continues the same draft
    assert helpers.start_roleplay(lc, AL) == sub_id
    assert len(submissions_of(app, learner)) == 1


def test_draft_page_shows_brief_persona_and_a_labelled_textarea_per_line(
    app: Flask, lc: FlaskClient,
) -> None:
    spec = spec_for(app, AL)
    sub_id = helpers.start_roleplay(lc, AL)
    response = lc.get(f"/submissions/{sub_id}")
    assert response.status_code == 200
    page = text(response)
    assert "listen, not to fix" in page  # the brief
    assert "Jordan is 29 and seven months sober" in page  # the persona
    assert "Status: <strong>draft</strong>" in page
    for i, line in enumerate(spec.lines):
        assert f"“{line}”" in page
        assert f'<label for="reply{i}">Your reply to line {i + 1}</label>' in page
        assert re.search(rf'<textarea id="reply{i}" name="reply{i}"[^>]*maxlength="3000"', page)
        assert f'<p class="hint" id="reply{i}-hint">Up to 3000 characters.</p>' in page
    assert f'id="reply{len(spec.lines)}"' not in page
    assert grading.MAX_REPLY == 3000


def test_saving_a_draft_keeps_every_word(app: Flask, lc: FlaskClient) -> None:
    spec = spec_for(app, AL)
    sub_id = helpers.start_roleplay(lc, AL)
    data = {f"reply{i}": "" for i in range(len(spec.lines))}
    data.update({"reply0": "It sounds like this morning was hard <b>&</b> \"heavy\".",
                 "reply3": "Line one\r\nline two", "action": "save"})
    response = lc.post(f"/submissions/{sub_id}", data=data)
    assert response.status_code == 302
    sub = submission(app, sub_id)
    assert sub.status == "draft"
    assert sub.replies[0] == "It sounds like this morning was hard <b>&</b> \"heavy\"."
    assert sub.replies[3] == "Line one\nline two"
    assert sub.replies[1] == ""
    page = lc.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "Draft saved." in page
    assert "hard &lt;b&gt;&amp;&lt;/b&gt;" in page  # shown back, escaped
    assert "Line one\nline two</textarea>" in page
    # start again: the same draft, text intact
    assert helpers.start_roleplay(lc, AL) == sub_id
    assert submission(app, sub_id).replies == sub.replies


def test_a_reply_over_the_limit_is_refused_and_shown_back(app: Flask, lc: FlaskClient) -> None:
    spec = spec_for(app, AL)
    sub_id = helpers.start_roleplay(lc, AL)
    lc.post(f"/submissions/{sub_id}", data={"reply0": "kept from before", "action": "save"})
    long = "x" * grading.MAX_REPLY + "y"
    data = {f"reply{i}": f"typed {i}" for i in range(len(spec.lines))}
    data["reply2"] = long
    for action in ("save", "submit"):
        response = lc.post(f"/submissions/{sub_id}", data={**data, "action": action})
        assert response.status_code == 422
        page = text(response)
        assert "Reply 3 is longer than 3000 characters." in page
        assert long in page
        assert "typed 0" in page and "typed 7" in page
        sub = submission(app, sub_id)
        assert sub.status == "draft" and sub.replies[0] == "kept from before"
    # exactly at the limit is fine
    data["reply2"] = "x" * grading.MAX_REPLY
    assert lc.post(f"/submissions/{sub_id}", data={**data, "action": "save"}).status_code == 302
    assert submission(app, sub_id).replies[2] == "x" * grading.MAX_REPLY


def test_submit_needs_every_reply_and_keeps_the_text(app: Flask, lc: FlaskClient) -> None:
    spec = spec_for(app, AL)
    sub_id = helpers.start_roleplay(lc, AL)
    data = replies(spec)
    data["reply1"] = "   "
    data["reply5"] = ""
    response = lc.post(f"/submissions/{sub_id}", data={**data, "action": "submit"})
    assert response.status_code == 422
    page = text(response)
    assert "Write a reply to every line before you submit (missing: 2, 6)." in page
    assert "Reply number 1, in my own words." in page
    assert "Reply number 8, in my own words." in page
    assert submission(app, sub_id).status == "draft"
    response = lc.post(f"/submissions/{sub_id}", data={**replies(spec), "action": "submit"})
    assert response.status_code == 302
    sub = submission(app, sub_id)
    assert sub.status == "submitted" and sub.replies == list(replies(spec).values())


def test_submit_is_accepted_once(app: Flask, lc: FlaskClient, frozen: Any) -> None:
    spec = spec_for(app, AL)
    sub_id = submit(lc, app)
    first = submission(app, sub_id)
    assert first.status == "submitted" and first.submitted_at == T0
    assert "Your role-play is submitted" in text(lc.get(f"/submissions/{sub_id}"))

    clock.freeze(T0 + timedelta(minutes=5))
    again = lc.post(f"/submissions/{sub_id}",
                    data={**replies(spec, "Changed"), "action": "submit"})
    assert again.status_code == 302
    assert "already submitted; nothing was changed" in text(lc.get(f"/submissions/{sub_id}"))
    later = submission(app, sub_id)
    assert later.replies == first.replies and later.submitted_at == T0
    # a late "save draft" cannot change it either
    response = lc.post(f"/submissions/{sub_id}", data={**replies(spec, "Changed"),
                                                        "action": "save"})
    assert response.status_code == 422
    assert "already been sent" in text(response)
    assert submission(app, sub_id).replies == first.replies


def test_two_simultaneous_submits_land_once(
    app: Flask, learner: User, lc: FlaskClient,
) -> None:
    spec = spec_for(app, AL)
    sub_id = helpers.start_roleplay(lc, AL)
    clients = [client_for(app, learner), client_for(app, learner)]
    barrier = threading.Barrier(2)
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def send(c: FlaskClient, prefix: str) -> None:
        try:
            barrier.wait(timeout=10)
            response = c.post(f"/submissions/{sub_id}",
                              data={**replies(spec, prefix), "action": "submit"})
            results.append((response.status_code, text(c.get(f"/submissions/{sub_id}"))))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(c, p)) for c, p in zip(clients, "AB",
                                                                            strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert [code for code, _ in results] == [302, 302]
    told_sent = [page for _, page in results if "Your role-play is submitted" in page]
    told_again = [page for _, page in results if "already submitted; nothing was changed" in page]
    assert len(told_sent) == 1 and len(told_again) == 1
    rows = submissions_of(app, learner)
    assert len(rows) == 1 and rows[0].status == "submitted"
    # the replies are all from one of the two posts, never a mix
    assert rows[0].replies in (list(replies(spec, "A").values()),
                               list(replies(spec, "B").values()))
    with app.app_context(), helpers.session(app) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.target_type == "submission",
                               AuditEvent.target_id == str(sub_id))) == 0


def test_learner_status_labels(
    app: Flask, lc: FlaskClient, tc: FlaskClient, frozen: Any,
) -> None:
    def status(sub_id: int) -> str:
        page = text(lc.get(f"/submissions/{sub_id}"))
        match = re.search(r"Status: <strong>([^<]+)</strong>", page)
        assert match
        return match.group(1)

    sub_id = helpers.start_roleplay(lc, AL)
    assert status(sub_id) == "draft"
    lc.post(f"/submissions/{sub_id}", data={**replies(spec_for(app, AL)), "action": "submit"})
    assert status(sub_id) == "submitted"
    tc.post(f"/grade/submissions/{sub_id}/claim")
    assert status(sub_id) == "in review"
    developing = {c.id: 1 for c in spec_for(app, AL).rubric.criteria} | {AL_SAFETY: 2}
    assert grade(tc, sub_id, levels_form(app, AL, developing)).status_code == 302
    assert status(sub_id) == "returned for revision"
    assert "returned for revision" in text(lc.get(f"/roleplays/{AL}"))
    assert "Revise and resubmit" in text(lc.get(f"/roleplays/{AL}"))

    second = submit(lc, app)
    assert status(second) == "submitted"
    assert grade(tc, second, levels_form(app, AL, 3)).status_code == 302
    assert status(second) == "passed"
    page = text(lc.get(f"/roleplays/{AL}"))
    assert "You have passed this role-play." in page
    assert page.count(": passed") == 1 and page.count(": returned for revision") == 1


# --- the trainer's queue and claims ------------------------------------------------------------

def test_queue_lists_oldest_first_and_filters_by_roleplay(
    app: Flask, make_user: UserFactory, tc: FlaskClient, frozen: Any,
) -> None:
    people = {name: make_user("learner", name=name) for name in ("Bea", "Ann", "Cal", "Dev")}
    clients = {name: client_for(app, user, read=True) for name, user in people.items()}
    # Bea submits last, Ann first, Cal in between; Dev's is a boundaries role-play
    plan = [("Ann", AL, 0), ("Dev", BOUNDARIES, 30), ("Cal", AL, 60), ("Bea", AL, 120)]
    for name, slug, minutes in plan:
        clock.freeze(T0 + timedelta(minutes=minutes))
        submit(clients[name], app, slug)
    clock.freeze(T0 + timedelta(hours=3))

    page = text(tc.get("/grade/"))
    order = [m.group(1) for m in re.finditer(r"<td>(Ann|Bea|Cal|Dev)</td>", page)]
    assert order == ["Ann", "Dev", "Cal", "Bea"]
    page = text(tc.get(f"/grade/?roleplay={AL}"))
    assert [m.group(1) for m in re.finditer(r"<td>(Ann|Bea|Cal|Dev)</td>", page)] == \
        ["Ann", "Cal", "Bea"]
    page = text(tc.get(f"/grade/?roleplay={BOUNDARIES}"))
    assert [m.group(1) for m in re.finditer(r"<td>(Ann|Bea|Cal|Dev)</td>", page)] == ["Dev"]
    assert "Nothing is waiting for this role-play." in text(tc.get("/grade/?roleplay=referral"))
    # an unknown filter shows everything rather than failing
    assert text(tc.get("/grade/?roleplay=nope")).count("<td>Ann</td>") == 1


def test_a_trainer_never_sees_or_grades_their_own_submission(
    app: Flask, trainer: User, tc: FlaskClient, tc2: FlaskClient, trainer2: User,
) -> None:
    helpers.read_all(tc)  # trainers learn through the same pages
    own = service_submission(app, trainer)
    assert submission(app, own).status == "submitted"
    assert "Tomas Trainer" not in text(tc.get("/grade/"))
    assert "Tomas Trainer" in text(tc2.get("/grade/"))

    assert tc.get(f"/grade/submissions/{own}").status_code == 404
    assert grade(tc, own, levels_form(app, AL, 3), expected="1").status_code == 404
    assert tc.post(f"/grade/submissions/{own}/claim").status_code == 404
    assert tc.post(f"/grade/submissions/{own}/release").status_code == 404
    assert grades(app, own) == [] and submission(app, own).claimed_by_id is None
    assert audit(app, "grade.claim", own) == []
    # the service layer refuses too, whatever the view does
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        sub, me = s.get(Submission, own), s.get(User, trainer.id)
        assert sub is not None and me is not None
        with pytest.raises(grading.NotVisible):
            grading.save_grade(s, me, sub, grading.GradeInput(
                {c.id: 3 for c in spec_for(app, AL).rubric.criteria}, {}, "Fine.", 1),
                clock.utcnow())
    # a second trainer grades it as usual
    assert grade(tc2, own, levels_form(app, AL, 3)).status_code == 302
    assert submission(app, own).status == "passed"
    assert [g.grader_id for g in grades(app, own)] == [trainer2.id]


def test_claims_hold_then_lapse(
    app: Flask, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient, trainer: User,
    trainer2: User, frozen: Any,
) -> None:
    sub_id = submit(lc, app)
    response = tc.post(f"/grade/submissions/{sub_id}/claim")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/grade/submissions/{sub_id}")
    sub = submission(app, sub_id)
    assert (sub.claimed_by_id, sub.claimed_at) == (trainer.id, T0)
    assert [e.actor_id for e in audit(app, "grade.claim", sub_id)] == [trainer.id]

    queue = text(tc2.get("/grade/"))
    assert "Claimed by Tomas Trainer since 09:00 UTC" in queue
    assert f"/grade/submissions/{sub_id}/claim" not in queue
    assert "Tomas Trainer has claimed this submission since 09:00 UTC" in \
        text(tc2.get(f"/grade/submissions/{sub_id}"))
    assert "Continue grading" in text(tc.get("/grade/"))

    lapse = app.config["CLAIM_LAPSE_MINUTES"]
    clock.freeze(T0 + timedelta(minutes=lapse))  # still held at exactly the lapse
    response = tc2.post(f"/grade/submissions/{sub_id}/claim")
    assert response.status_code == 302 and response.headers["Location"].endswith("/grade/")
    assert "Tomas Trainer claimed this submission first." in text(tc2.get("/grade/"))
    assert submission(app, sub_id).claimed_by_id == trainer.id
    assert len(audit(app, "grade.claim", sub_id)) == 1

    later = T0 + timedelta(minutes=lapse, seconds=1)
    clock.freeze(later)
    assert "Unclaimed" in text(tc2.get("/grade/"))
    response = tc2.post(f"/grade/submissions/{sub_id}/claim")
    assert response.headers["Location"].endswith(f"/grade/submissions/{sub_id}")
    sub = submission(app, sub_id)
    assert (sub.claimed_by_id, sub.claimed_at) == (trainer2.id, later)
    assert [e.actor_id for e in audit(app, "grade.claim", sub_id)] == [trainer.id, trainer2.id]
    # releasing puts it back
    tc2.post(f"/grade/submissions/{sub_id}/release")
    assert submission(app, sub_id).claimed_by_id is None


def test_claims_are_for_waiting_work_and_staff_only(
    app: Flask, lc: FlaskClient, tc: FlaskClient,
) -> None:
    draft = helpers.start_roleplay(lc, AL)
    assert tc.get(f"/grade/submissions/{draft}").status_code == 404
    tc.post(f"/grade/submissions/{draft}/claim")
    assert submission(app, draft).claimed_by_id is None
    assert "not waiting for a grade" in text(tc.get("/grade/"))
    assert lc.get("/grade/").status_code == 403
    assert lc.post(f"/grade/submissions/{draft}/claim").status_code == 403
    assert tc.get("/grade/submissions/999999").status_code == 404


# --- grading -----------------------------------------------------------------------------------

def test_every_criterion_needs_a_level(app: Flask, lc: FlaskClient, tc: FlaskClient) -> None:
    sub_id = submit(lc, app)
    data = levels_form(app, AL, 3, feedback="Everything I typed stays.")
    del data["level-reflects-feelings"]
    response = grade(tc, sub_id, data, expected="1")
    assert response.status_code == 422
    page = text(response)
    assert "Choose a level for 'Reflects Jordan's feelings tentatively and accurately'." in page
    assert "Everything I typed stays." in page
    assert checked(page, "paraphrases-accurately", 3)
    assert grades(app, sub_id) == [] and submission(app, sub_id).status == "submitted"
    # a score that is no level of the criterion is refused the same way
    response = grade(tc, sub_id, {**data, "level-reflects-feelings": "7"}, expected="1")
    assert response.status_code == 422
    assert "has no level scored 7" in text(response)
    assert grades(app, sub_id) == []


def test_a_comment_is_required_below_meets_and_everything_is_shown_back(
    app: Flask, lc: FlaskClient, tc: FlaskClient,
) -> None:
    sub_id = submit(lc, app)
    data = levels_form(app, AL, {"asks-open-questions": 1, "summarises-and-checks": 0},
                       feedback="My overall feedback, kept.")
    data["comment-asks-open-questions"] = "   "
    data["comment-paraphrases-accurately"] = "A comment at Exceeds is kept too."
    response = grade(tc, sub_id, data, expected="1")
    assert response.status_code == 422
    page = text(response)
    assert "Add a comment for “Asks open and clarifying questions”" in page
    assert "My overall feedback, kept." in page
    assert "A comment at Exceeds is kept too." in page
    assert "Name the feeling before moving on. (summarises-and-checks)" in page
    assert checked(page, "asks-open-questions", 1)
    assert checked(page, "summarises-and-checks", 0)
    assert checked(page, "reflects-feelings", 3)
    assert grades(app, sub_id) == []
    # at Meets and above no comment is needed
    response = grade(tc, sub_id, levels_form(app, AL, {"asks-open-questions": 2}), expected="1")
    assert response.status_code == 302
    assert grades(app, sub_id)[0].comments == {}


def test_overall_feedback_is_required(app: Flask, lc: FlaskClient, tc: FlaskClient) -> None:
    sub_id = submit(lc, app)
    data = levels_form(app, AL, {"reflects-feelings": 1}, feedback="  \r\n ")
    response = grade(tc, sub_id, data, expected="1")
    assert response.status_code == 422
    page = text(response)
    assert "Write overall feedback for the learner." in page
    assert "Name the feeling before moving on. (reflects-feelings)" in page
    assert checked(page, "reflects-feelings", 1)
    assert grades(app, sub_id) == []


def test_a_high_total_passes_and_the_learner_sees_the_rubric(
    app: Flask, lc: FlaskClient, tc: FlaskClient, trainer: User,
) -> None:
    sub_id = submit(lc, app)
    scores = {"paraphrases-accurately": 3, "reflects-feelings": 3, "asks-open-questions": 2,
              "avoids-fixing-and-own-story": 2, "summarises-and-checks": 1,
              AL_SAFETY: 2}  # 19/24 = 79%
    data = levels_form(app, AL, scores, feedback="Lovely paraphrasing.\nWork on the summary.")
    data["comment-paraphrases-accurately"] = "Short and accurate."
    response = grade(tc, sub_id, data, expected="1")
    assert response.status_code == 302
    assert "Grade saved (19/24). Passed." in text(tc.get("/grade/"))
    [saved] = grades(app, sub_id)
    assert (saved.number, saved.kind, saved.grader_id) == (1, "grade", trainer.id)
    assert (saved.total, saved.max_total, saved.outcome) == (19, 24, "passed")
    assert saved.levels == {k: v + 1 for k, v in scores.items()} and not saved.needs_moderation
    assert [f["id"] for f in saved.failing] == ["summarises-and-checks"]
    sub = submission(app, sub_id)
    assert sub.status == "passed" and sub.claimed_by_id is None

    page = text(lc.get(f"/submissions/{sub_id}"))
    assert "Outcome: passed" in page
    assert "19 of 24 points (79%)" in page
    spec = spec_for(app, AL)
    for c in spec.rubric.criteria:
        level = c.levels[scores[c.id]]
        assert f"{level.label} ({level.score}/4)" in page
        assert level.descriptor in page
    assert "Short and accurate." in page
    assert "Name the feeling before moving on. (summarises-and-checks)" in page
    assert "Lovely paraphrasing.\nWork on the summary." in page
    assert "Criteria to work on" not in page


def test_every_criterion_at_meets_passes(app: Flask, lc: FlaskClient, tc: FlaskClient) -> None:
    sub_id = submit(lc, app)
    response = grade(tc, sub_id, levels_form(app, AL, 2), expected="1")
    assert response.status_code == 302
    assert submission(app, sub_id).status == "passed"


def test_below_the_threshold_is_returned_naming_the_failing_criteria(
    app: Flask, lc: FlaskClient, tc: FlaskClient,
) -> None:
    sub_id = submit(lc, app)
    scores = {"paraphrases-accurately": 3, "reflects-feelings": 1, "asks-open-questions": 2,
              "avoids-fixing-and-own-story": 0, "summarises-and-checks": 2}
    # 17/24 is above 70%, but a criterion at "Not yet" is under the rubric's floor
    response = grade(tc, sub_id, levels_form(app, AL, scores, feedback="Nearly there."),
                     expected="1")
    assert response.status_code == 302
    [saved] = grades(app, sub_id)
    assert (saved.total, saved.outcome, saved.needs_moderation) == (17, "returned", False)
    assert [f["id"] for f in saved.failing] == ["reflects-feelings",
                                                "avoids-fixing-and-own-story"]
    assert submission(app, sub_id).status == "returned"
    page = text(lc.get(f"/submissions/{sub_id}"))
    assert "Outcome: returned for revision" in page
    assert ("Criteria to work on: Reflects Jordan's feelings tentatively and accurately, "
            "Avoids fixing, unsolicited advice, rushed reassurance and own story.") in page
    assert "Name the feeling before moving on. (avoids-fixing-and-own-story)" in page
    assert "Nearly there." in page


# --- moderation --------------------------------------------------------------------------------

def boundaries_in_moderation(app: Flask, lc: FlaskClient, tc: FlaskClient) -> int:
    sub_id = submit(lc, app, BOUNDARIES)
    tc.post(f"/grade/submissions/{sub_id}/claim")
    data = levels_form(app, BOUNDARIES, {CRITICAL: 1}, feedback="First grader's feedback.")
    response = grade(tc, sub_id, data, expected="1")
    assert response.status_code == 302
    assert "a second trainer must now confirm" in text(tc.get("/grade/"))
    assert submission(app, sub_id).status == "moderation"
    return sub_id


def test_a_failed_critical_criterion_goes_to_moderation_unseen_by_the_learner(
    app: Flask, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient,
) -> None:
    sub_id = boundaries_in_moderation(app, lc, tc)
    [first] = grades(app, sub_id)
    assert first.needs_moderation and first.outcome == "returned" and first.total == 22
    assert [f["id"] for f in first.failing] == [CRITICAL] and first.failing[0]["critical"]

    page = text(lc.get(f"/submissions/{sub_id}"))
    assert "Status: <strong>in review</strong>" in page
    assert "Outcome:" not in page and "First grader's feedback." not in page
    assert "13 of 15" not in page
    assert "in review" in text(lc.get(f"/roleplays/{BOUNDARIES}"))

    # the first grader cannot moderate: not in their queue, claim and grade refused
    assert "Lena Learner" not in text(tc.get("/grade/"))
    tc.post(f"/grade/submissions/{sub_id}/claim")
    assert "A second trainer must moderate your grade." in text(tc.get("/grade/"))
    response = grade(tc, sub_id, levels_form(app, BOUNDARIES, {CRITICAL: 1}), expected="2")
    assert response.status_code == 422
    assert "A second trainer must moderate your grade." in text(response)
    assert len(grades(app, sub_id)) == 1
    # a second trainer sees it as moderation work, blind: nothing of the first grade shows
    queue = text(tc2.get("/grade/"))
    assert "Lena Learner" in queue and "Moderation (blind)" in queue
    raw = tc2.get(f"/grade/submissions/{sub_id}").get_data(as_text=True)
    page = html.unescape(raw)
    assert "Moderate:" in page and "Grade it <strong>independently</strong>" in page
    assert "First grader's feedback." not in page and "Grades so far" not in page
    assert "Tomas Trainer" not in page and "returned" not in page and '" checked' not in raw
    assert "Ask directly and follow the protocol" not in page
    assert "Name the feeling before moving on" not in page  # the first grader's comments


def moderate_blind(app: Flask, tc2: FlaskClient, sub_id: int, scores: dict[str, int] | int,
                   feedback: str) -> str:
    """The moderator's own grade, saved blind: the page then shows the grades side by side."""
    tc2.post(f"/grade/submissions/{sub_id}/claim")
    response = grade(tc2, sub_id, levels_form(app, BOUNDARIES, scores, feedback=feedback),
                     expected="2")
    assert response.status_code == 302, text(response)[:2000]
    assert response.headers["Location"].endswith(f"/grade/submissions/{sub_id}")
    return text(tc2.get(f"/grade/submissions/{sub_id}"))


def test_moderation_confirms_the_first_grade(
    app: Flask, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient, trainer: User,
    trainer2: User,
) -> None:
    sub_id = boundaries_in_moderation(app, lc, tc)
    page = moderate_blind(app, tc2, sub_id, {CRITICAL: 0}, "Confirmed: confidentiality.")
    # now both grades, side by side, with the agreement per criterion
    assert "Grade under review (Tomas Trainer)" in page
    assert "Your blind grade (Tariq Trainer)" in page
    assert "First grader's feedback." in page and "Confirmed: confidentiality." in page
    assert "same level" in page and "one level apart" in page
    assert "Record the decision" in page
    first, second = grades(app, sub_id)
    assert (second.kind, second.grader_id, second.decision) == ("moderation", trainer2.id, None)
    assert submission(app, sub_id).status == "moderation"  # nothing decided yet
    assert "Outcome:" not in text(lc.get(f"/submissions/{sub_id}"))

    response = tc2.post(f"/grade/submissions/{sub_id}/decide", data={"decision": "confirmed"})
    assert response.status_code == 302
    assert (first.number, first.kind, first.grader_id, first.levels[CRITICAL]) == \
        (1, "grade", trainer.id, 2)
    assert (second.number, second.outcome, second.needs_moderation) == (2, "returned", False)
    sub = submission(app, sub_id)
    assert sub.status == "returned" and sub.decided_grade_id == first.id
    page = text(lc.get(f"/submissions/{sub_id}"))
    assert "Status: <strong>returned for revision</strong>" in page
    # the confirmed grade is the one the learner reads
    assert "First grader's feedback." in page and "Confirmed: confidentiality." not in page
    [event] = audit(app, "moderation.confirmed", sub_id)
    assert event.actor_id == trainer2.id and event.details["cause"] == "critical"
    with app.app_context(), helpers.session(app) as s:
        [record] = s.scalars(select(Moderation)).all()
        assert (record.decision, record.cause, record.outcome_agreed) == \
            ("confirmed", "critical", True)
        assert record.agreement[CRITICAL] == {"levels": [2, 1], "exact": False,
                                              "adjacent": True}
        assert record.reviewed_grade_id == first.id and record.grade_id == second.id


def test_moderation_overturns_with_a_reason(
    app: Flask, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient,
) -> None:
    sub_id = boundaries_in_moderation(app, lc, tc)
    moderate_blind(app, tc2, sub_id, 3, "The limits were stated clearly.")
    response = tc2.post(f"/grade/submissions/{sub_id}/decide",
                        data={"decision": "overturned", "reason": "  "})
    assert response.status_code == 422
    assert "Give a reason for overturning the first grade." in text(response)
    assert submission(app, sub_id).status == "moderation"
    response = tc2.post(f"/grade/submissions/{sub_id}/decide", data={"reason": "Typed."})
    assert response.status_code == 422
    page = text(response)
    assert "Choose whether to confirm or overturn" in page and "Typed.</textarea>" in page

    response = tc2.post(f"/grade/submissions/{sub_id}/decide", data={
        "decision": "overturned", "reason": "Line 4 states the limits plainly."})
    assert response.status_code == 302
    first, second = grades(app, sub_id)
    assert first.outcome == "returned" and first.needs_moderation  # kept as it was
    assert (second.kind, second.outcome) == ("moderation", "passed")
    sub = submission(app, sub_id)
    assert sub.status == "passed" and sub.decided_grade_id == second.id
    page = text(lc.get(f"/submissions/{sub_id}"))
    assert "Outcome: passed" in page and "The limits were stated clearly." in page
    [event] = audit(app, "moderation.overturned", sub_id)
    assert event.reason == "Line 4 states the limits plainly."
    assert event.details["outcome_agreed"] is False
    # decided: a second decision is refused
    response = tc2.post(f"/grade/submissions/{sub_id}/decide", data={"decision": "confirmed"})
    assert response.status_code == 302
    assert "no moderation decision of yours waiting" in text(tc2.get("/grade/"))


def test_only_the_moderator_decides_and_nobody_else_moderates_meanwhile(
    app: Flask, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient, make_user: UserFactory,
    factory: Factory,
) -> None:
    sub_id = boundaries_in_moderation(app, lc, tc)
    moderate_blind(app, tc2, sub_id, 3, "Mine.")
    third = make_user("trainer", name="Thea Third")
    factory.calibrate(third)
    tc3 = client_for(app, third)
    assert "Lena Learner" not in text(tc3.get("/grade/"))
    response = tc3.post(f"/grade/submissions/{sub_id}/decide", data={"decision": "confirmed"})
    assert response.status_code == 302
    response = grade(tc3, sub_id, levels_form(app, BOUNDARIES, 3), expected="3")
    assert response.status_code == 422
    assert "Tariq Trainer is moderating this submission." in text(response)
    # the first grader cannot decide either, and the moderator cannot grade twice
    assert tc.post(f"/grade/submissions/{sub_id}/decide",
                   data={"decision": "confirmed"}).status_code == 302
    response = grade(tc2, sub_id, levels_form(app, BOUNDARIES, 3), expected="3")
    assert response.status_code == 422  # the decision page, since their grade is saved
    assert "now confirm or overturn the grade under review" in text(response)
    assert submission(app, sub_id).status == "moderation"
    assert "Moderation: decide" in text(tc2.get("/grade/"))


# --- two trainers at once ----------------------------------------------------------------------

def test_two_trainers_saving_at_once_keep_one_grade(
    app: Flask, lc: FlaskClient, trainer: User, trainer2: User, factory: Factory,
) -> None:
    sub_id = submit(lc, app)
    people = {"Tomas Trainer": trainer, "Tariq Trainer": trainer2}
    for person in people.values():
        factory.calibrate(person, AL)
    clients = {name: client_for(app, user) for name, user in people.items()}
    feedback = {name: f"Feedback typed by {name}." for name in people}
    barrier = threading.Barrier(2)
    results: dict[str, tuple[int, str]] = {}
    errors: list[BaseException] = []

    def save(name: str) -> None:
        try:
            data = levels_form(app, AL, 3, feedback=feedback[name])
            barrier.wait(timeout=10)
            response = grade(clients[name], sub_id, data, expected="1")
            results[name] = (response.status_code, text(response))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(name,)) for name in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(code for code, _ in results.values()) == [302, 409]
    [saved] = grades(app, sub_id)
    assert saved.number == 1 and saved.kind == "grade"
    winner = next(name for name, user in people.items() if user.id == saved.grader_id)
    loser = next(name for name in people if name != winner)
    assert results[winner][0] == 302 and results[loser][0] == 409
    assert saved.feedback == feedback[winner]
    page = results[loser][1]
    assert f"{winner} saved a grade for this submission first." in page
    assert "Your grade was not saved" in page
    assert feedback[loser] in page
    assert len(audit(app, "grade.grade", sub_id)) == 1
    assert submission(app, sub_id).status == "passed"

    # the loser's form now amends the winner's grade (a reason is needed), never overwrites it
    assert re.search(r'name="expected" value="2"', page)
    response = grade(clients[loser], sub_id, levels_form(app, AL, 3, feedback=feedback[loser]),
                     expected="2", reason="I read it differently.")
    assert response.status_code == 302
    first, second = grades(app, sub_id)
    assert first.feedback == feedback[winner] and second.kind == "amendment"


def test_a_stale_form_is_a_conflict_not_an_overwrite(
    app: Flask, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient,
) -> None:
    """The same race, one after the other: a form opened before the first grade landed."""
    sub_id = submit(lc, app)
    assert 'name="expected" value="1"' in text(tc2.get(f"/grade/submissions/{sub_id}"))
    assert grade(tc, sub_id, levels_form(app, AL, 3, feedback="First."),
                 expected="1").status_code == 302
    response = grade(tc2, sub_id, levels_form(app, AL, 1, feedback="Stale but mine."),
                     expected="1")
    assert response.status_code == 409
    page = text(response)
    assert "Tomas Trainer saved a grade for this submission first." in page
    assert "Stale but mine." in page and checked(page, "reflects-feelings", 1)
    [saved] = grades(app, sub_id)
    assert saved.feedback == "First."


# --- amendments --------------------------------------------------------------------------------

def test_an_amendment_is_a_new_grade_with_a_reason(
    app: Flask, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient, trainer2: User,
) -> None:
    sub_id = submit(lc, app)
    assert grade(tc, sub_id, levels_form(app, AL, 3, feedback="Original."),
                 expected="1").status_code == 302
    page = text(tc2.get(f"/grade/submissions/{sub_id}"))
    assert "Amend the grade:" in page and 'name="expected" value="2"' in page
    assert "Original." in page  # starts from the saved grade

    data = levels_form(app, AL, {"reflects-feelings": 1, "summarises-and-checks": 1},
                       feedback="Amended.")
    response = grade(tc2, sub_id, data, expected="2")
    assert response.status_code == 422
    assert "Give a reason for amending a saved grade." in text(response)
    assert len(grades(app, sub_id)) == 1

    response = grade(tc2, sub_id, data, expected="2", reason="Misread line 6.")
    assert response.status_code == 302
    first, second = grades(app, sub_id)
    assert (first.number, first.kind, first.feedback, first.total, first.outcome) == \
        (1, "grade", "Original.", 24, "passed")
    assert (second.number, second.kind, second.grader_id, second.reason) == \
        (2, "amendment", trainer2.id, "Misread line 6.")
    assert (second.total, second.outcome) == (20, "passed")
    [event] = audit(app, "grade.amendment", sub_id)
    assert event.actor_id == trainer2.id and event.reason == "Misread line 6."
    page = text(lc.get(f"/submissions/{sub_id}"))
    assert "Amended." in page and "Original." not in page


# --- the audit log -----------------------------------------------------------------------------

def test_every_grading_action_is_audited(
    app: Flask, learner: User, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient, trainer: User,
    trainer2: User, make_user: UserFactory, frozen: Any,
) -> None:
    written = submit(lc, app)
    tc.post(f"/grade/submissions/{written}/claim")
    grade(tc, written, levels_form(app, AL, 3), expected="1")
    grade(tc2, written, levels_form(app, AL, 3, feedback="Again."), expected="2", reason="Typo.")
    critical = boundaries_in_moderation(app, lc, tc)
    grade(tc2, critical, levels_form(app, BOUNDARIES, {CRITICAL: 1}), expected="2")
    tc2.post(f"/grade/submissions/{critical}/decide", data={"decision": "confirmed"})
    other = make_user("learner", name="Liv Live")
    response = tc.post("/grade/live", data={
        "learner_email": other.email, "roleplay": AL, "held_on": "2026-11-20",
        "live_format": "video", "duration_minutes": "30", "notes": ""})
    assert response.status_code == 302

    expected = {
        "grade.claim": [(trainer.id, str(written)), (trainer.id, str(critical))],
        "grade.grade": [(trainer.id, str(written)), (trainer.id, str(critical))],
        "grade.amendment": [(trainer2.id, str(written))],
        "grade.moderation": [(trainer2.id, str(critical))],
        "moderation.confirmed": [(trainer2.id, str(critical))],
    }
    for action, rows in expected.items():
        assert [(e.actor_id, e.target_id) for e in audit(app, action)] == rows, action
    [live] = audit(app, "roleplay.live")
    assert live.actor_id == trainer.id and live.target_label == other.email
    assert live.details == {"format": "video", "held_on": "2026-11-20", "duration_minutes": 30}
    for action in expected:
        for event in audit(app, action):
            assert event.target_type == "submission"
            assert event.actor_label in (f"Tomas Trainer <{trainer.email}>",
                                         f"Tariq Trainer <{trainer2.email}>")
    assert {e.target_label for e in audit(app, "grade.grade")} == {learner.email}
    assert [e.details["outcome"] for e in audit(app, "grade.grade")] == ["passed", "returned"]
    assert audit(app, "grade.grade")[1].details["needs_moderation"] is True


# --- resubmission ------------------------------------------------------------------------------

def test_resubmission_starts_from_the_returned_one(
    app: Flask, lc: FlaskClient, tc: FlaskClient, learner: User,
) -> None:
    first = submit(lc, app, prefix="First try")
    data = levels_form(app, AL, {"reflects-feelings": 1, "asks-open-questions": 0,
                                 "summarises-and-checks": 1}, feedback="Try naming feelings.")
    assert grade(tc, first, data, expected="1").status_code == 302
    assert submission(app, first).status == "returned"

    second = helpers.start_roleplay(lc, AL)
    assert second != first
    old, new = submission(app, first), submission(app, second)
    assert new.status == "draft" and new.previous_id == first
    assert new.replies == old.replies
    assert old.status == "returned"  # the returned one is kept as it was
    assert helpers.start_roleplay(lc, AL) == second  # not a third

    page = text(lc.get(f"/submissions/{second}"))
    assert "Feedback on your previous submission" in page
    assert "Try naming feelings." in page
    assert "Name the feeling before moving on. (asks-open-questions)" in page
    assert "First try number 1, in my own words.</textarea>" in page

    lc.post(f"/submissions/{second}", data={**replies(spec_for(app, AL), "Second try"),
                                           "action": "submit"})
    page = text(tc.get(f"/grade/submissions/{second}"))
    assert "Grade of the earlier submission this revises" in page
    assert "Feedback: Try naming feelings." in page
    assert "First try number 1, in my own words." in page
    assert "Second try number 1, in my own words." in page
    assert "resubmission" in text(tc.get("/grade/"))
    assert [s.id for s in submissions_of(app, learner)] == [first, second]


# --- live role-plays ---------------------------------------------------------------------------

def live_form(email: str, **overrides: str) -> dict[str, str]:
    data = {"learner_email": email, "roleplay": BOUNDARIES,
            "held_on": "2026-11-21", "live_format": "phone", "duration_minutes": "45",
            "notes": "Stated the limits before Sam finished."}
    data.update(overrides)
    return data


def test_a_trainer_records_and_grades_a_live_roleplay(
    app: Flask, learner: User, lc: FlaskClient, tc: FlaskClient, trainer: User, frozen: Any,
) -> None:
    assert "Record a live role-play" in text(tc.get("/grade/live"))
    response = tc.post("/grade/live", data=live_form(f"  {learner.email.upper()} "))
    assert response.status_code == 302, text(response)[:2000]
    [sub] = submissions_of(app, learner)
    assert response.headers["Location"].endswith(f"/grade/submissions/{sub.id}")
    assert (sub.mode, sub.status, sub.live_format, sub.duration_minutes) == \
        ("live", "submitted", "phone", 45)
    assert (sub.held_on.isoformat(), sub.recorded_by_id, sub.claimed_by_id) == \
        ("2026-11-21", trainer.id, trainer.id)
    assert sub.live_notes == "Stated the limits before Sam finished."

    page = text(tc.get(f"/grade/submissions/{sub.id}"))
    assert "live role-play (phone, 2026-11-21, 45 minutes, recorded by Tomas Trainer)" in page
    assert "Stated the limits before Sam finished." in page
    response = grade(tc, sub.id, levels_form(app, BOUNDARIES, 3, feedback="Live: well done."),
                     expected="1")
    assert response.status_code == 302
    assert submission(app, sub.id).status == "passed"
    page = text(lc.get(f"/submissions/{sub.id}"))
    assert "live role-play (phone, 2026-11-21, 45 minutes)" in page
    assert "Outcome: passed" in page and "Live: well done." in page
    assert "(live)" in text(lc.get(f"/roleplays/{BOUNDARIES}"))


@pytest.mark.parametrize(("case", "message"), [
    ("future", "The date cannot be in the future."),
    ("unknown", "No learner has this email address."),
    ("self", "You cannot record a role-play for yourself."),
])
def test_a_live_roleplay_is_refused_readably(
    app: Flask, learner: User, trainer: User, tc: FlaskClient, frozen: Any,
    case: str, message: str,
) -> None:
    sent = {"future": live_form(learner.email, held_on="2026-11-22"),  # the day after "now"
            "unknown": live_form("nobody@example.org"),
            "self": live_form(trainer.email)}[case]
    response = tc.post("/grade/live", data=sent)
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert f'value="{sent["learner_email"]}"' in page
    assert f'value="{sent["held_on"]}"' in page
    assert 'value="45"' in page
    assert "Stated the limits before Sam finished.</textarea>" in page
    assert re.search(r'<option selected value="boundaries">|<option value="boundaries" selected',
                     page)
    assert submissions_of(app, learner) == [] and submissions_of(app, trainer) == []
    assert audit(app, "roleplay.live") == []


def test_a_live_roleplay_needs_staff(app: Flask, lc: FlaskClient, learner: User) -> None:
    assert lc.get("/grade/live").status_code == 403
    assert lc.post("/grade/live", data=live_form(learner.email)).status_code == 403
    assert submissions_of(app, learner) == []


# --- privacy -----------------------------------------------------------------------------------

def test_only_the_learner_and_staff_see_a_submission(
    app: Flask, lc: FlaskClient, make_user: UserFactory, tc: FlaskClient, admin: User,
) -> None:
    sub_id = submit(lc, app, prefix="Private words")
    other = client_for(app, make_user("learner", name="Olga Other"), read=True)
    assert other.get(f"/submissions/{sub_id}").status_code == 404
    response = other.post(f"/submissions/{sub_id}",
                          data={**replies(spec_for(app, AL)), "action": "save"})
    assert response.status_code == 404
    assert other.get("/submissions/999999").status_code == 404  # looks the same as missing

    anonymous = app.test_client()
    response = anonymous.get(f"/submissions/{sub_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = anonymous.post(f"/submissions/{sub_id}", data={"action": "submit"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]

    # a trainer is sent to the grading page while it waits; an admin reads it
    response = tc.get(f"/submissions/{sub_id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/grade/submissions/{sub_id}")
    assert "Private words number 1" in text(tc.get(f"/grade/submissions/{sub_id}"))
    page = text(client_for(app, admin).get(f"/submissions/{sub_id}"))
    assert "Learner: Lena Learner" in page and "Private words number 1" in page
    # nobody but the learner can change it
    assert tc.post(f"/submissions/{sub_id}", data={"action": "save"}).status_code in (403, 404)

    grade(tc, sub_id, levels_form(app, AL, 3, feedback="Shh."), expected="1")
    page = text(tc.get(f"/submissions/{sub_id}"))  # graded: the trainer reads it in place
    assert "Private words number 1" in page
    assert other.get(f"/submissions/{sub_id}").status_code == 404
    assert "Shh." not in text(other.get(f"/roleplays/{AL}"))


def test_release_only_gives_back_your_own_claim(
    app: Flask, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient, trainer: User,
) -> None:
    sub_id = submit(lc, app)
    tc.post(f"/grade/submissions/{sub_id}/claim")
    tc2.post(f"/grade/submissions/{sub_id}/release")
    assert "You did not hold a claim" in text(tc2.get("/grade/"))
    assert submission(app, sub_id).claimed_by_id == trainer.id
    tc.post(f"/grade/submissions/{sub_id}/release")
    assert "Released: the submission is back in the queue." in text(tc.get("/grade/"))
    assert submission(app, sub_id).claimed_by_id is None


def test_no_live_roleplay_for_one_already_passed(
    app: Flask, lc: FlaskClient, tc: FlaskClient, learner: User,
) -> None:
    sub_id = submit(lc, app)
    assert grade(tc, sub_id, levels_form(app, AL, 3), expected="1").status_code == 302
    response = tc.post("/grade/live", data={
        "learner_email": learner.email, "roleplay": AL, "held_on": "2026-01-05",
        "live_format": "phone", "duration_minutes": "20", "notes": "Second go"})
    assert response.status_code == 422
    assert "has already passed this role-play" in text(response)


def test_the_transcript_and_the_rubric_sit_side_by_side(
    app: Flask, lc: FlaskClient, tc: FlaskClient,
) -> None:
    sub_id = submit(lc, app)
    page = tc.get(f"/grade/submissions/{sub_id}").get_data(as_text=True)
    layout = page.index('<div class="grading-layout">')
    transcript = page.index('<section class="transcript" role="region" '
                            'aria-labelledby="replies-title" tabindex="0">')
    form = page.index('<form method="post" action="/grade/submissions/')
    assert layout < transcript < form  # one grid: the transcript, then the rubric beside it
    assert '<main id="main" class="wrap wrap-wide"' in page
    css = (Path(app.static_folder or "") / "site.css").read_text()
    rule = re.search(r"@media \(min-width: 64em\) \{\s*\.grading-layout \{ display: grid;"
                     r"[^}]*\}\s*\.grading-layout \.transcript \{([^}]*)\}", css)
    assert rule and "overflow-y: auto" in rule.group(1) and "max-height" in rule.group(1)


# --- integrity: the server numbers grades; drafts are the learner's alone (issue #15) --------

@pytest.mark.parametrize("forged", ["999999999", "2"])
def test_the_form_cannot_choose_the_grade_number(
    app: Flask, lc: FlaskClient, tc: FlaskClient, tc2: FlaskClient, forged: str,
) -> None:
    """A forged number is refused as out of date (409); the server numbers the grade it keeps,
    so no grade can be pinned above later amendments and grading is never jammed."""
    sub_id = submit(lc, app)
    response = grade(tc, sub_id, levels_form(app, AL, 0, feedback="Pinned."), expected=forged)
    assert response.status_code == 409
    assert "changed since the form was opened" in text(response)
    assert grades(app, sub_id) == []
    # the honest form still works, and its amendment is what the learner sees
    assert grade(tc, sub_id, levels_form(app, AL, 3, feedback="First."),
                 expected="1").status_code == 302
    assert grade(tc2, sub_id, levels_form(app, AL, 3, feedback="Amended."), expected="2",
                 reason="Second look.").status_code == 302
    assert [(g.number, g.feedback) for g in grades(app, sub_id)] == [(1, "First."),
                                                                     (2, "Amended.")]
    assert "Amended." in text(lc.get(f"/submissions/{sub_id}"))


def test_the_service_numbers_grades_whatever_it_is_given(
    app: Flask, lc: FlaskClient, trainer: User, factory: Factory,
) -> None:
    factory.calibrate(trainer, AL)
    sub_id = submit(lc, app)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        person, sub = s.get(User, trainer.id), s.get(Submission, sub_id)
        assert person is not None and sub is not None
        data = levels_form(app, AL, 3)
        levels = {k[6:]: int(v) for k, v in data.items() if k.startswith("level-")}
        with pytest.raises(grading.GradeConflict):
            grading.save_grade(s, person, sub, grading.GradeInput(
                levels, {}, "Fine.", 999_999_999), clock.utcnow())
        saved = grading.save_grade(s, person, sub, grading.GradeInput(levels, {}, "Fine.", 1),
                                   clock.utcnow())
        assert saved.number == 1
        assert grading.next_grade_number(sub) == 2


def test_staff_cannot_read_a_learners_draft(
    app: Flask, lc: FlaskClient, tc: FlaskClient, admin: User,
) -> None:
    sub_id = helpers.start_roleplay(lc, AL)
    assert lc.post(f"/submissions/{sub_id}", data={**replies(spec_for(app, AL), "Unsent"),
                                                   "action": "save"}).status_code == 302
    assert "Unsent number 1" in text(lc.get(f"/submissions/{sub_id}"))
    for client in (tc, client_for(app, admin)):
        response = client.get(f"/submissions/{sub_id}")
        assert response.status_code == 404
        assert "Unsent number 1" not in text(response)
        assert client.get(f"/grade/submissions/{sub_id}").status_code == 404
    # once sent, staff read it as before
    assert lc.post(f"/submissions/{sub_id}", data={**replies(spec_for(app, AL), "Unsent"),
                                                   "action": "submit"}).status_code == 302
    assert "Unsent number 1" in text(client_for(app, admin).get(f"/submissions/{sub_id}"))
