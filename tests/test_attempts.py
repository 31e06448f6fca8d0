"""Quiz attempts through HTTP: availability, one draw per attempt, answering, submitting once,
tampering, privacy, review, cooldown, attempt limits, best attempt and content versions."""

from __future__ import annotations

import html
import re
import shutil
import threading
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from courseware.domain import clock
from courseware.domain.content import content_hash
from courseware.infra.config import PROJECT_ROOT
from courseware.models import ContentItem, ContentVersion, QuizAnswer, QuizAttempt, User
from courseware.services.attempts import day_window_opens, humanize_until
from tests import helpers
from tests.conftest import Auth, UserFactory, make_app
from tests.helpers import as_shown

SLUG = "foundations"

# --- helpers -----------------------------------------------------------------------------------


class FormParser(HTMLParser):
    """The attempt form's fieldsets: legend text, choice inputs and their labels."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fieldsets: list[dict[str, Any]] = []
        self._text: tuple[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "fieldset":
            self.fieldsets.append({"legend": "", "inputs": [], "labels": {}})
        elif tag == "legend" and self.fieldsets:
            self._text = ("legend", None)
        elif tag == "label" and self.fieldsets:
            self._text = ("label", a.get("for"))
        elif tag == "input" and self.fieldsets and a.get("type") in ("radio", "checkbox"):
            self.fieldsets[-1]["inputs"].append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("legend", "label"):
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is None:
            return
        fieldset = self.fieldsets[-1]
        if self._text[0] == "legend":
            fieldset["legend"] += data
        else:
            key = self._text[1]
            fieldset["labels"][key] = fieldset["labels"].get(key, "") + data


def fieldsets(body: str) -> list[dict[str, Any]]:
    parser = FormParser()
    parser.feed(body)
    return parser.fieldsets


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def squashed(response: Any) -> str:
    """The page's text with runs of white space made one space."""
    return re.sub(r"\s+", " ", text_of(response))


def words(response: Any) -> str:
    """The page's text without its tags, runs of white space made one space."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", response.get_data(
        as_text=True))))


def snapshot(app: Flask, attempt_id: int) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    with app.app_context(), helpers.session(app) as s:
        a = s.get(QuizAttempt, attempt_id)
        assert a is not None
        answers = s.scalars(select(QuizAnswer).where(QuizAnswer.attempt_id == attempt_id)
                            .order_by(QuizAnswer.position)).all()
        return (
            {"submitted_at": a.submitted_at, "score": a.score, "percent": a.percent,
             "passed": a.passed, "presented": a.presented, "version": a.quiz_version_id,
             "number": a.number, "version_number": a.quiz_version.number},
            [(x.id, x.position, x.question_id, x.question_hash, x.chosen, x.points)
             for x in answers],
        )


def attempt_count(app: Flask, user: User | None = None) -> int:
    with app.app_context(), helpers.session(app) as s:
        stmt = select(func.count()).select_from(QuizAttempt)
        if user is not None:
            stmt = stmt.where(QuizAttempt.user_id == user.id)
        return s.scalar(stmt) or 0


def logged_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    response = Auth(client).login(user)
    assert response.status_code == 302
    return client


def ready(app: Flask, user: User, slug: str = SLUG) -> FlaskClient:
    client = logged_in(app, user)
    helpers.read_module(client, slug)
    return client


def content_copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    for name in ("modules", "quizzes", "certificates"):
        shutil.copytree(PROJECT_ROOT / name, root / name)
    return root


def synced_app(database_url: str, tmp_path: Path, root: Path) -> tuple[Flask, str]:
    """A second app on the same database, reading content from `root`, after `courseware sync`."""
    edited = make_app(database_url, tmp_path / "edited", CONTENT_ROOT=root)
    result = edited.test_cli_runner().invoke(args=["courseware", "sync"])
    assert result.exit_code == 0, result.output
    return edited, result.output


def kind_positions(app: Flask, attempt_id: int, *kinds: str) -> list[int]:
    attempt, spec = helpers.attempt_and_spec(app, attempt_id)
    found = []
    for position, shown in enumerate(attempt.presented):
        q = spec.question(shown["id"])
        assert q is not None
        if q.kind in kinds:
            found.append(position)
    return found


# --- availability and starting -----------------------------------------------------------------


def test_quiz_is_unavailable_until_the_module_is_read(app: Flask, learner: User) -> None:
    client = logged_in(app, learner)
    page = client.get(f"/quizzes/{SLUG}")
    assert page.status_code == 200
    reason = "Read the module “Foundations of peer mentoring” first."
    assert reason in text_of(page)
    assert f'action="/quizzes/{SLUG}/start"' not in page.get_data(as_text=True)

    response = client.post(f"/quizzes/{SLUG}/start")
    assert response.status_code == 409
    assert reason in text_of(response)
    assert attempt_count(app) == 0

    helpers.read_module(client, SLUG)
    assert f'action="/quizzes/{SLUG}/start"' in client.get(f"/quizzes/{SLUG}").get_data(
        as_text=True)
    helpers.start_quiz(client, SLUG)
    assert attempt_count(app) == 1


def test_quiz_pages_need_a_login_and_an_existing_quiz(app: Flask, learner: User) -> None:
    anonymous = app.test_client()
    assert anonymous.post(f"/quizzes/{SLUG}/start").status_code in (302, 401)
    assert attempt_count(app) == 0
    client = logged_in(app, learner)
    assert client.get("/quizzes/no-such-quiz").status_code == 404
    assert client.post("/quizzes/no-such-quiz/start").status_code == 404


def test_start_creates_one_attempt_storing_the_draw_and_the_version(
    app: Flask, learner: User
) -> None:
    client = ready(app, learner)
    attempt_id = helpers.start_quiz(client, SLUG)
    state, answers = snapshot(app, attempt_id)
    assert answers == [] and state["submitted_at"] is None and state["number"] == 1
    with app.app_context(), helpers.session(app) as s:
        item = s.scalar(select(ContentItem).where(ContentItem.kind == "quiz",
                                                  ContentItem.slug == SLUG))
        assert item is not None
        assert state["version"] == item.current_version_id
        hashes = item.current_version.data["question_hashes"]
        bank = {q["id"]: q for q in item.current_version.data["questions"]}
        per_attempt = item.current_version.data["questions_per_attempt"]
    presented = state["presented"]
    assert len(presented) == per_attempt == 10
    assert len({p["id"] for p in presented}) == len(presented)
    for p in presented:
        assert p["id"] in bank
        assert p["hash"] == hashes[p["id"]]
        assert sorted(p["order"]) == list(range(len(bank[p["id"]]["options"])))
    assert attempt_count(app) == 1


def test_reloading_and_starting_again_return_the_same_attempt(app: Flask, learner: User) -> None:
    client = ready(app, learner)
    attempt_id = helpers.start_quiz(client, SLUG)
    before, _ = snapshot(app, attempt_id)
    first = client.get(f"/attempts/{attempt_id}")
    second = client.get(f"/attempts/{attempt_id}")
    assert first.status_code == second.status_code == 200
    assert fieldsets(first.get_data(as_text=True)) == fieldsets(second.get_data(as_text=True))
    assert helpers.start_quiz(client, SLUG) == attempt_id
    assert helpers.start_quiz(client, SLUG) == attempt_id
    after, _ = snapshot(app, attempt_id)
    assert after == before  # no new draw
    assert attempt_count(app) == 1
    page = client.get(f"/quizzes/{SLUG}").get_data(as_text=True)
    assert f'href="/attempts/{attempt_id}"' in page and "Continue your attempt" in page


def test_the_attempt_page_is_accessible_and_reveals_no_answers(app: Flask,
                                                              learner: User) -> None:
    client = logged_in(app, learner)
    helpers.read_all(client)
    kinds_seen: set[str] = set()
    for slug in helpers.MODULES:  # five quizzes: every question kind turns up
        quiz_page = client.get(f"/quizzes/{slug}").get_data(as_text=True)
        assert "correct" not in quiz_page.lower()
        attempt_id = helpers.start_quiz(client, slug)
        response = client.get(f"/attempts/{attempt_id}")
        body = response.get_data(as_text=True)
        plain = html.unescape(body)
        attempt, spec = helpers.attempt_and_spec(app, attempt_id)
        # beyond the wording of prompts and options, no text, class or attribute names
        # correctness ("correct", "incorrect", "data-correct", ...)
        rest = plain
        for bank_question in spec.questions:
            for wording in (bank_question.prompt, *(o.text for o in bank_question.options)):
                rest = rest.replace(as_shown(wording), "")
        assert "correct" not in rest.lower()
        found = fieldsets(body)
        assert len(found) == len(attempt.presented)
        for position, (order, fieldset) in enumerate(zip(attempt.presented, found, strict=True)):
            q = spec.question(order["id"])
            assert q is not None
            kinds_seen.add(q.kind)
            assert fieldset["legend"].strip().startswith(f"Question {position + 1}.")
            assert as_shown(q.prompt) in fieldset["legend"]
            expected_type = "checkbox" if q.kind == "multiple" else "radio"
            inputs = fieldset["inputs"]
            assert [i["type"] for i in inputs] == [expected_type] * len(q.options)
            assert [i["name"] for i in inputs] == [f"q{position}"] * len(q.options)
            assert [i["value"] for i in inputs] == [str(n) for n in range(len(q.options))]
            assert not any("checked" in i for i in inputs)
            labels = [fieldset["labels"][i["id"]].strip() for i in inputs]
            assert labels == [as_shown(q.options[bank].text) for bank in order["order"]]
            for option in q.options:  # feedback and explanations stay hidden until review
                assert as_shown(option.feedback) not in plain
            assert as_shown(q.explanation) not in plain
            for key in ("data-correct", "data-answer"):
                assert key not in body
    assert kinds_seen == {"single", "multiple", "true_false"}


# --- answering and submitting ------------------------------------------------------------------


def test_unanswered_questions_ask_for_confirmation_keeping_the_answers(
    app: Flask, learner: User
) -> None:
    client = ready(app, learner)
    attempt_id = helpers.start_quiz(client, SLUG)
    full = helpers.answers_for(app, attempt_id)
    partial = {k: v for k, v in full.items() if k not in ("q2", "q7")}
    response = client.post(f"/attempts/{attempt_id}", data=partial)
    assert response.status_code == 200
    text = text_of(response)
    assert "Some questions are not answered" in text
    assert "You have not answered questions 3, 8." in text
    body = response.get_data(as_text=True)
    assert 'name="confirm_blank" value="yes"' in body
    for position, fieldset in enumerate(fieldsets(body)):
        checked = [i["value"] for i in fieldset["inputs"] if "checked" in i]
        assert checked == partial.get(f"q{position}", [])
    state, answers = snapshot(app, attempt_id)
    assert state["submitted_at"] is None and answers == []

    response = client.post(f"/attempts/{attempt_id}", data={**partial, "confirm_blank": "yes"})
    assert response.status_code == 302
    state, answers = snapshot(app, attempt_id)
    assert state["submitted_at"] is not None
    assert state["score"] == 8 and state["percent"] == 80.0 and state["passed"] is True
    assert len(answers) == 10
    blank = {a[1]: a for a in answers if a[1] in (2, 7)}
    assert [(a[4], a[5]) for a in blank.values()] == [([], 0.0), ([], 0.0)]
    assert sum(a[5] for a in answers) == 8


def test_all_answered_submits_without_confirmation_and_stores_bank_indexes(
    app: Flask, learner: User
) -> None:
    client = ready(app, learner)
    attempt_id = helpers.start_quiz(client, SLUG)
    data = helpers.answers_for(app, attempt_id, wrong=3)
    response = client.post(f"/attempts/{attempt_id}", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/attempts/{attempt_id}")
    state, answers = snapshot(app, attempt_id)
    assert state["score"] == 7 and state["percent"] == 70.0 and state["passed"] is False
    for (_id, position, qid, qhash, chosen, _points), shown in zip(
            answers, state["presented"], strict=True):
        assert (qid, qhash) == (shown["id"], shown["hash"])
        assert chosen == sorted(shown["order"][int(v)] for v in data[f"q{position}"])


def test_a_submission_is_accepted_once(app: Flask, learner: User, frozen: Any) -> None:
    client = ready(app, learner)
    attempt_id = helpers.pass_quiz(client, app, SLUG)
    before = snapshot(app, attempt_id)
    assert before[0]["percent"] == 100.0

    clock.freeze(clock.utcnow() + timedelta(minutes=1))
    again = client.post(f"/attempts/{attempt_id}",
                        data=helpers.answers_for(app, attempt_id, wrong=10))
    assert again.status_code == 409
    text = text_of(again)
    assert "already submitted" in text and "nothing was changed" in text
    assert "You scored 100.0%" in text
    assert snapshot(app, attempt_id) == before
    assert attempt_count(app) == 1


def test_a_double_submit_from_two_threads_records_one_submission(
    app: Flask, learner: User
) -> None:
    client_a = ready(app, learner)
    client_b = logged_in(app, learner)  # the same learner, logged in a second time
    attempt_id = helpers.start_quiz(client_a, SLUG)
    data = helpers.answers_for(app, attempt_id, wrong=1)
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def submit(client: FlaskClient) -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(client.post(f"/attempts/{attempt_id}", data=data).status_code)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(c,)) for c in (client_a, client_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(statuses) == [302, 409]
    state, answers = snapshot(app, attempt_id)
    assert state["submitted_at"] is not None and state["score"] == 9
    assert len(answers) == 10
    assert sorted(a[1] for a in answers) == list(range(10))  # one set, no duplicates
    assert attempt_count(app) == 1


def test_two_starts_at_once_make_one_attempt(app: Flask, learner: User) -> None:
    client_a = ready(app, learner)
    client_b = logged_in(app, learner)
    barrier = threading.Barrier(2)
    locations: list[str] = []
    errors: list[BaseException] = []

    def start(client: FlaskClient) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post(f"/quizzes/{SLUG}/start")
            assert response.status_code == 302, response.status_code
            locations.append(response.headers["Location"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(c,)) for c in (client_a, client_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert attempt_count(app) == 1
    assert len(locations) == 2 and locations[0] == locations[1]


def _first(kind_positions_: list[int]) -> int:
    assert kind_positions_, "the draw has no question of this kind"
    return kind_positions_[0]


@pytest.mark.parametrize("tamper", [
    "out_of_range", "negative", "not_presented", "non_numeric", "two_for_single",
    "same_option_twice", "huge",
])
def test_tampered_answers_are_refused_and_nothing_is_recorded(
    app: Flask, learner: User, tamper: str
) -> None:
    client = ready(app, learner)
    attempt_id = helpers.start_quiz(client, SLUG)
    data = helpers.answers_for(app, attempt_id)
    state, _ = snapshot(app, attempt_id)
    single = _first(kind_positions(app, attempt_id, "single", "true_false"))
    if tamper == "out_of_range":
        data["q0"] = [str(len(state["presented"][0]["order"]))]
    elif tamper == "negative":
        data["q0"] = ["-1"]
    elif tamper == "not_presented":
        data["q99"] = ["0"]
    elif tamper == "non_numeric":
        data["q0"] = ["first"]
    elif tamper == "two_for_single":
        data[f"q{single}"] = ["0", "1"]
    elif tamper == "same_option_twice":
        data[f"q{single}"] = ["1", "1"]
    elif tamper == "huge":
        data["q0"] = ["99999999999999999999"]
    response = client.post(f"/attempts/{attempt_id}", data=data)
    assert response.status_code == 400
    assert "Nothing was recorded" in text_of(response)
    after, answers = snapshot(app, attempt_id)
    assert after == state and answers == []
    assert after["submitted_at"] is None
    page = client.get(f"/attempts/{attempt_id}")  # still open: the form, not a review
    assert page.status_code == 200 and len(fieldsets(page.get_data(as_text=True))) == 10
    # the honest answers still go through
    assert client.post(f"/attempts/{attempt_id}",
                       data=helpers.answers_for(app, attempt_id)).status_code == 302


def test_another_learners_attempt_is_not_found(app: Flask, learner: User,
                                               make_user: UserFactory) -> None:
    owner = ready(app, learner)
    other_user = make_user("learner")
    other = ready(app, other_user)
    open_id = helpers.start_quiz(owner, SLUG)
    data = helpers.answers_for(app, open_id)
    assert other.get(f"/attempts/{open_id}").status_code == 404
    assert other.post(f"/attempts/{open_id}", data=data).status_code == 404
    state, answers = snapshot(app, open_id)
    assert state["submitted_at"] is None and answers == []
    assert owner.post(f"/attempts/{open_id}", data=data).status_code == 302
    before = snapshot(app, open_id)
    assert other.get(f"/attempts/{open_id}").status_code == 404
    assert other.post(f"/attempts/{open_id}", data=data).status_code == 404
    assert snapshot(app, open_id) == before
    assert other.get("/attempts/999999").status_code == 404


def test_the_review_shows_choices_answers_feedback_and_explanations(
    app: Flask, learner: User, frozen: Any
) -> None:
    client = ready(app, learner)
    # once the quiz is passed, every attempt's review shows the key (whatever `review` says)
    helpers.pass_quiz(client, app, SLUG)
    clock.freeze(clock.utcnow() + timedelta(minutes=11))
    attempt_id = helpers.start_quiz(client, SLUG)
    data = helpers.answers_for(app, attempt_id, wrong=2)
    del data["q9"]
    assert client.post(f"/attempts/{attempt_id}",
                       data={**data, "confirm_blank": "yes"}).status_code == 302
    response = client.get(f"/attempts/{attempt_id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert ("You scored 70.0% (7.0 of 10 points): not passed. The pass mark is 80%."
            in squashed(response))
    attempt, spec = helpers.attempt_and_spec(app, attempt_id)
    sections = body.split('<section class="review-question"')[1:]
    assert len(sections) == 10
    for position, (order, section) in enumerate(zip(attempt.presented, sections, strict=True)):
        q = spec.question(order["id"])
        assert q is not None
        part = html.unescape(section)
        chosen = {order["order"][int(v)] for v in data.get(f"q{position}", [])}
        points = "1" if position >= 2 and position != 9 else "0"
        assert f"Question {position + 1}: {points}" in part
        assert as_shown(q.prompt) in part and as_shown(q.explanation) in part
        where = []
        for bank in order["order"]:
            option = q.options[bank]
            assert as_shown(option.text) in part and as_shown(option.feedback) in part
            where.append(part.index(as_shown(option.text)))
        assert where == sorted(where)  # in the order the learner saw them
        assert part.count("Correct answer.") == len(q.correct_indexes)
        assert part.count("Not correct.") == len(q.options) - len(q.correct_indexes)
        assert part.count("Your choice.") == len(chosen)
        assert ("You did not answer this question." in part) == (position == 9)


# --- cooldown, attempt limits, best attempt ----------------------------------------------------


@pytest.mark.parametrize(("minutes", "expected"), [
    (0, "now"), (-5, "now"), (0.5, "in 1 minute"), (1, "in 1 minute"), (7, "in 7 minutes"),
    (59, "in 59 minutes"), (60, "in 1 hour"), (61, "in 1 hour 1 minute"),
    (125, "in 2 hours 5 minutes"), (120, "in 2 hours"),
])
def test_humanize_until(frozen: Any, minutes: float, expected: str) -> None:
    now = clock.utcnow()
    assert humanize_until(now + timedelta(minutes=minutes), now) == expected


def test_cooldown_between_attempts(app: Flask, learner: User, frozen: Any) -> None:
    start = clock.utcnow()
    client = ready(app, learner)
    first = helpers.start_quiz(client, SLUG)
    assert client.post(f"/attempts/{first}",
                       data=helpers.answers_for(app, first, wrong=5)).status_code == 302

    for elapsed, wait in ((timedelta(minutes=3, seconds=30), "in 7 minutes"),
                          (timedelta(minutes=9, seconds=1), "in 1 minute"),
                          (timedelta(minutes=0), "in 10 minutes")):
        clock.freeze(start + elapsed)
        response = client.post(f"/quizzes/{SLUG}/start")
        assert response.status_code == 409
        assert f"Your next attempt opens {wait}." in text_of(response)
        assert f"Your next attempt opens {wait}." in text_of(client.get(f"/quizzes/{SLUG}"))
        assert attempt_count(app) == 1

    clock.freeze(start + timedelta(minutes=10))
    second = helpers.start_quiz(client, SLUG)
    assert second != first
    assert snapshot(app, second)[0]["number"] == 2


def test_max_attempts_refuses_the_third_start(
    app: Flask, learner: User, database_url: str, tmp_path: Path
) -> None:
    root = content_copy(tmp_path)
    path = root / "quizzes" / f"{SLUG}.quiz.toml"
    source = path.read_text()
    edited = re.sub(r"(?m)^max_attempts = \d+$", "max_attempts = 2", source)
    edited = re.sub(r"(?m)^cooldown_minutes = \d+$", "cooldown_minutes = 0", edited)
    assert edited != source
    path.write_text(edited)
    limited, output = synced_app(database_url, tmp_path, root)
    try:
        assert f"updated: quiz {SLUG}" in output
        client = ready(limited, learner)
        assert "At most 2 attempts (2 left)." in text_of(client.get(f"/quizzes/{SLUG}"))
        for _ in range(2):
            attempt_id = helpers.start_quiz(client, SLUG)
            response = client.post(f"/attempts/{attempt_id}",
                                   data=helpers.answers_for(limited, attempt_id, wrong=5))
            assert response.status_code == 302
        response = client.post(f"/quizzes/{SLUG}/start")
        assert response.status_code == 409
        assert "You have used all the attempts this quiz allows." in text_of(response)
        assert "(0 left)" in text_of(client.get(f"/quizzes/{SLUG}"))
        assert attempt_count(limited) == 2
    finally:
        limited.extensions["courseware.db"].engine.dispose()


def test_the_best_attempt_counts(app: Flask, learner: User, frozen: Any) -> None:
    client = ready(app, learner)
    results = []
    for wrong in (5, 0, 3):  # 50 %, 100 %, 70 %
        attempt_id = helpers.start_quiz(client, SLUG)
        data = helpers.answers_for(app, attempt_id, wrong=wrong)
        assert client.post(f"/attempts/{attempt_id}", data=data).status_code == 302
        results.append(snapshot(app, attempt_id)[0]["percent"])
        clock.freeze(clock.utcnow() + timedelta(minutes=11))
    assert results == [50.0, 100.0, 70.0]
    profile = text_of(client.get("/profile"))
    assert re.search(r"Foundations of peer mentoring quiz</a>:\s*best 100.0% \(passed\), "
                     r"3 attempts", profile), profile
    quiz_page = text_of(client.get(f"/quizzes/{SLUG}"))
    assert "You have passed this quiz." in quiz_page


def test_profile_shows_a_failed_best_attempt(app: Flask, learner: User) -> None:
    client = ready(app, learner)
    attempt_id = helpers.start_quiz(client, SLUG)
    assert client.post(f"/attempts/{attempt_id}",
                       data=helpers.answers_for(app, attempt_id, wrong=4)).status_code == 302
    profile = text_of(client.get("/profile"))
    assert re.search(r"best 60.0% \(not passed\), 1 attempt\b", profile)
    assert "You have passed this quiz." not in text_of(client.get(f"/quizzes/{SLUG}"))


# --- content versions --------------------------------------------------------------------------


def _reword_prompts(text: str) -> str:
    text = re.sub(r'(?m)^prompt = """\n?', 'prompt = """Reworded: ', text)
    return re.sub(r'(?m)^prompt = "(?!"")', 'prompt = "Reworded: ', text)


def test_an_old_attempt_keeps_its_version_after_the_quiz_is_reworded(
    app: Flask, learner: User, database_url: str, tmp_path: Path, frozen: Any
) -> None:
    client = ready(app, learner)
    old_id = helpers.start_quiz(client, SLUG)
    assert client.post(f"/attempts/{old_id}",
                       data=helpers.answers_for(app, old_id, wrong=2)).status_code == 302
    before = snapshot(app, old_id)
    old_attempt, old_spec = helpers.attempt_and_spec(app, old_id)
    old_prompts = [old_spec.question(p["id"]).prompt for p in old_attempt.presented]  # type: ignore[union-attr]

    root = content_copy(tmp_path)
    path = root / "quizzes" / f"{SLUG}.quiz.toml"
    source = path.read_text()
    reworded = _reword_prompts(source)
    assert reworded.count("Reworded: ") == source.count("\nprompt = ")
    path.write_text(reworded)
    edited, output = synced_app(database_url, tmp_path, root)
    try:
        assert f"updated: quiz {SLUG}" in output
        client2 = logged_in(edited, learner)
        review = client2.get(f"/attempts/{old_id}")
        assert review.status_code == 200
        text = text_of(review)
        assert "Reworded:" not in text
        for prompt in old_prompts:
            assert prompt in text
        assert "You scored 80.0% (8.0 of 10 points): passed." in squashed(review)
        assert snapshot(edited, old_id) == before
        assert before[0]["version_number"] == 1

        clock.freeze(clock.utcnow() + timedelta(minutes=10))
        new_id = helpers.start_quiz(client2, SLUG)
        state, _ = snapshot(edited, new_id)
        assert state["version_number"] == 2 and state["version"] != before[0]["version"]
        old_hashes = {p["id"]: p["hash"] for p in old_attempt.presented}
        for p in state["presented"]:
            if p["id"] in old_hashes:
                assert p["hash"] != old_hashes[p["id"]]
        page = client2.get(f"/attempts/{new_id}").get_data(as_text=True)
        legends = [f["legend"] for f in fieldsets(page)]
        assert len(legends) == 10
        assert all("Reworded: " in legend for legend in legends)
        data = helpers.answers_for(edited, new_id)
        assert client2.post(f"/attempts/{new_id}", data=data).status_code == 302
        new_state, new_answers = snapshot(edited, new_id)
        assert new_state["percent"] == 100.0
        assert [a[3] for a in new_answers] == [p["hash"] for p in state["presented"]]
        assert snapshot(edited, old_id) == before
    finally:
        edited.extensions["courseware.db"].engine.dispose()


# --- exposure: attempts per day and what a review shows ------------------------------------------

SMALL_MODULE = """\
+++
title = "Alpha"
order = 1
minutes = 30
summary = "The first module."
objectives = ["Know the first thing"]
requires = []
+++

## Start here

Alpha body text.
"""


def small_option(qid: str, n: int, correct: bool) -> str:
    return (f'\n  [[questions.options]]\n  text = "Option {n} of {qid}"\n'
            f'  correct = {"true" if correct else "false"}\n'
            f'  feedback = "Feedback on option {n} of {qid}."\n')


def small_question(qid: str, kind: str, correct: set[int], count: int) -> str:
    if kind == "true_false":
        options = "".join(
            f'\n  [[questions.options]]\n  text = "{text}"\n  correct = '
            f'{"true" if n in correct else "false"}\n  feedback = "Feedback on {text} of {qid}."\n'
            for n, text in enumerate(("True", "False")))
    else:
        options = "".join(small_option(qid, n, n in correct) for n in range(count))
    return (f'\n[[questions]]\nid = "{qid}"\nkind = "{kind}"\nprompt = "Prompt of {qid}?"\n'
            f'explanation = "Explanation of {qid}."\n{options}')


def small_quiz(settings: str) -> str:
    return ('module = "alpha"\ntitle = "Alpha quiz"\npass_percent = 75\n'
            "questions_per_attempt = 4\nmax_attempts = 0\n" + settings + "\n"
            + small_question("one", "single", {1}, 3) + small_question("two", "single", {2}, 4)
            + small_question("three", "multiple", {0, 2}, 4)
            + small_question("four", "true_false", {1}, 2))


def small_course(database_url: str, tmp_path: Path, settings: str) -> Flask:
    """An app on the test database with only module "alpha" and its four-question quiz."""
    root = tmp_path / "small"
    for rel, text in (("modules/alpha.md", SMALL_MODULE),
                      ("quizzes/alpha.quiz.toml", small_quiz(settings))):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    # these journeys span days of frozen time in one session: sessions are not their subject
    small = make_app(database_url, tmp_path / "small-app", CONTENT_ROOT=root,
                     SESSION_MAX_HOURS=1000, SESSION_IDLE_MINUTES_LEARNER=60_000)
    result = small.test_cli_runner().invoke(args=["courseware", "sync"])
    assert result.exit_code == 0, result.output
    return small


def take(client: FlaskClient, app: Flask, wrong: int) -> int:
    """Start and submit an attempt of the small quiz with `wrong` questions answered wrongly."""
    attempt_id = helpers.start_quiz(client, "alpha")
    response = client.post(f"/attempts/{attempt_id}",
                           data=helpers.answers_for(app, attempt_id, wrong=wrong))
    assert response.status_code == 302
    return attempt_id


def chosen_and_not(app: Flask, attempt_id: int) -> tuple[list[str], list[str]]:
    """The texts of the options the learner chose (with their feedback), and of all the others."""
    attempt, spec = helpers.attempt_and_spec(app, attempt_id)
    with app.app_context(), helpers.session(app) as s:
        picked = {a.question_id: set(a.chosen) for a in s.scalars(
            select(QuizAnswer).where(QuizAnswer.attempt_id == attempt_id))}
    chosen: list[str] = []
    others: list[str] = []
    for item in attempt.presented:
        question = spec.question(item["id"])
        assert question is not None
        for index, option in enumerate(question.options):
            texts = [option.text, option.feedback]
            (chosen if index in picked.get(item["id"], set()) else others).extend(texts)
    return chosen, others


def assert_no_key(body: str, app: Flask, attempt_id: int) -> None:
    """Nothing in the page names which option is right beyond the learner's own choices."""
    page = html.unescape(body)
    chosen, others = chosen_and_not(app, attempt_id)
    for text in chosen:
        if text not in ("True", "False"):
            assert text in page, text
    for text in others:
        if text not in ("True", "False"):
            assert text not in page, text
    for word in ("Explanation of", "Correct answer", "Not correct", 'class="correct',
                 "incorrect", "Why:"):
        assert word not in page, word


def test_a_review_before_passing_shows_the_score_and_own_choices_only(
    database_url: str, tmp_path: Path, learner: User
) -> None:
    small = small_course(database_url, tmp_path, "cooldown_minutes = 0")
    client = ready(small, learner, "alpha")
    quiz_page = squashed(client.get("/quizzes/alpha"))
    assert "You can start 3 attempts in any 24 hours." in quiz_page  # the defaults
    assert "The right answers and the explanations are shown once you pass." in quiz_page
    attempt_id = take(client, small, wrong=2)
    response = client.get(f"/attempts/{attempt_id}")
    assert response.status_code == 200
    text = squashed(response)
    assert "You scored 50.0% (2.0 of 4 points): not passed. The pass mark is 75%." in text
    assert "Question 1: 0.0 of 1 point (not right)" in text
    assert "Question 3: 1.0 of 1 point (right)" in text
    assert "Prompt of one?" in text and "Prompt of four?" in text
    assert_no_key(response.get_data(as_text=True), small, attempt_id)
    # the already-submitted answer to a second POST shows the same limited review
    again = client.post(f"/attempts/{attempt_id}", data=helpers.answers_for(small, attempt_id))
    assert again.status_code == 409
    assert_no_key(again.get_data(as_text=True), small, attempt_id)


def test_after_a_pass_every_attempt_shows_the_full_review(
    database_url: str, tmp_path: Path, learner: User
) -> None:
    small = small_course(database_url, tmp_path, "cooldown_minutes = 0")
    client = ready(small, learner, "alpha")
    failed = take(client, small, wrong=4)
    assert "Explanation of" not in text_of(client.get(f"/attempts/{failed}"))
    passed = take(client, small, wrong=0)
    for attempt_id in (failed, passed):
        page = words(client.get(f"/attempts/{attempt_id}"))
        for qid in ("one", "two", "three", "four"):
            assert f"Why: Explanation of {qid}." in page
        assert "Correct answer. Option 1 of one" in page
        assert "Feedback on option 0 of two." in page  # every option's feedback


def test_review_always_shows_the_key_at_once(database_url: str, tmp_path: Path,
                                             learner: User) -> None:
    small = small_course(database_url, tmp_path, 'cooldown_minutes = 0\nreview = "always"')
    client = ready(small, learner, "alpha")
    assert "the right answers and an explanation for each question" in \
        squashed(client.get("/quizzes/alpha"))
    attempt_id = take(client, small, wrong=4)
    page = words(client.get(f"/attempts/{attempt_id}"))
    assert "not passed" in page and "Why: Explanation of one." in page
    assert "Correct answer. Option 2 of two" in page


def test_attempts_per_day_is_a_rolling_24_hours(database_url: str, tmp_path: Path,
                                                learner: User, frozen: Any) -> None:
    small = small_course(database_url, tmp_path, "cooldown_minutes = 0\nattempts_per_day = 2")
    client = ready(small, learner, "alpha")
    t0 = clock.utcnow()
    take(client, small, wrong=4)
    clock.freeze(t0 + timedelta(hours=1))
    take(client, small, wrong=4)
    for elapsed, wait in ((timedelta(hours=2), "in 22 hours"),
                          (timedelta(hours=23, minutes=59, seconds=30), "in 1 minute")):
        clock.freeze(t0 + elapsed)
        message = f"You can start 2 attempts in any 24 hours. Your next attempt opens {wait}."
        response = client.post("/quizzes/alpha/start")
        assert response.status_code == 409
        assert message in squashed(response)
        assert message in squashed(client.get("/quizzes/alpha"))
        assert attempt_count(small, learner) == 2
    clock.freeze(t0 + timedelta(hours=24))  # the first attempt has left the window
    take(client, small, wrong=4)
    clock.freeze(t0 + timedelta(hours=24, minutes=1))  # the second has not
    assert "Your next attempt opens in 59 minutes." in squashed(client.get("/quizzes/alpha"))
    clock.freeze(t0 + timedelta(hours=25))
    take(client, small, wrong=4)
    assert attempt_count(small, learner) == 4


def test_the_later_of_cooldown_and_day_limit_decides(database_url: str, tmp_path: Path,
                                                     learner: User, frozen: Any) -> None:
    small = small_course(database_url, tmp_path, "cooldown_minutes = 600\nattempts_per_day = 1")
    client = ready(small, learner, "alpha")
    t0 = clock.utcnow()
    take(client, small, wrong=4)
    # the cooldown ends after 10 hours, the day's single attempt only after 24
    assert ("You can start 1 attempt in any 24 hours. Your next attempt opens in 24 hours."
            in squashed(client.get("/quizzes/alpha")))
    clock.freeze(t0 + timedelta(hours=24))
    take(client, small, wrong=4)
    assert attempt_count(small, learner) == 2


def test_attempts_per_day_zero_means_no_limit(database_url: str, tmp_path: Path,
                                              learner: User) -> None:
    small = small_course(database_url, tmp_path, "cooldown_minutes = 0\nattempts_per_day = 0")
    client = ready(small, learner, "alpha")
    assert "in any 24 hours" not in squashed(client.get("/quizzes/alpha"))
    for _ in range(5):
        take(client, small, wrong=4)
    assert attempt_count(small, learner) == 5


def test_a_quiz_version_stored_before_the_settings_keeps_its_meaning(
    app: Flask, learner: User, frozen: Any
) -> None:
    """An old version's data has no attempts_per_day or review: no daily limit, full review."""
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        item = s.scalar(select(ContentItem).where(ContentItem.kind == "quiz",
                                                  ContentItem.slug == SLUG))
        assert item is not None and item.current_version is not None
        data = {k: v for k, v in item.current_version.data.items()
                if k not in ("attempts_per_day", "review")}
        old = ContentVersion(item_id=item.id, number=item.current_version.number + 1,
                             content_hash=content_hash(data), data=data)
        s.add(old)
        s.flush()
        item.current_version = old
        s.commit()
    client = ready(app, learner)
    for attempt in range(4):
        attempt_id = helpers.start_quiz(client, SLUG)
        response = client.post(f"/attempts/{attempt_id}",
                               data=helpers.answers_for(app, attempt_id, wrong=5))
        assert response.status_code == 302
        if attempt == 0:  # not passed, and still the full review
            assert "Correct answer." in text_of(client.get(f"/attempts/{attempt_id}"))
        clock.freeze(clock.utcnow() + timedelta(minutes=11))
    assert attempt_count(app, learner) == 4


def test_day_window_opens() -> None:
    now = clock.utcnow()
    hours = [now - timedelta(hours=h) for h in (30, 20, 5, 1)]
    assert day_window_opens(0, hours, now) is None  # no limit
    assert day_window_opens(4, hours, now) is None  # three in the window, a fourth fits
    assert day_window_opens(3, hours, now) == hours[1] + timedelta(hours=24)
    # more starts than the limit (a lowered setting): wait until enough have aged out
    assert day_window_opens(2, hours, now) == hours[2] + timedelta(hours=24)
    # exactly 24 hours old is outside the window
    assert day_window_opens(1, [now - timedelta(hours=24)], now) is None
