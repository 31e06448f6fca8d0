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
from courseware.infra.config import PROJECT_ROOT
from courseware.models import ContentItem, QuizAnswer, QuizAttempt, User
from courseware.services.attempts import humanize_until
from tests import helpers
from tests.conftest import Auth, UserFactory, make_app

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
        for q in spec.questions:
            for wording in (q.prompt, *(o.text for o in q.options)):
                rest = rest.replace(wording, "")
        assert "correct" not in rest.lower()
        found = fieldsets(body)
        assert len(found) == len(attempt.presented)
        for position, (shown, fieldset) in enumerate(zip(attempt.presented, found, strict=True)):
            q = spec.question(shown["id"])
            assert q is not None
            kinds_seen.add(q.kind)
            assert fieldset["legend"].strip().startswith(f"Question {position + 1}.")
            assert q.prompt in fieldset["legend"]
            expected_type = "checkbox" if q.kind == "multiple" else "radio"
            inputs = fieldset["inputs"]
            assert [i["type"] for i in inputs] == [expected_type] * len(q.options)
            assert [i["name"] for i in inputs] == [f"q{position}"] * len(q.options)
            assert [i["value"] for i in inputs] == [str(n) for n in range(len(q.options))]
            assert not any("checked" in i for i in inputs)
            labels = [fieldset["labels"][i["id"]].strip() for i in inputs]
            assert labels == [q.options[bank].text for bank in shown["order"]]
            for option in q.options:  # feedback and explanations stay hidden until review
                assert option.feedback not in plain
            assert q.explanation not in plain
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
    app: Flask, learner: User
) -> None:
    client = ready(app, learner)
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
    for position, (shown, section) in enumerate(zip(attempt.presented, sections, strict=True)):
        q = spec.question(shown["id"])
        assert q is not None
        part = html.unescape(section)
        chosen = {shown["order"][int(v)] for v in data.get(f"q{position}", [])}
        points = "1" if position >= 2 and position != 9 else "0"
        assert f"Question {position + 1}: {points}" in part
        assert q.prompt in part and q.explanation in part
        where = []
        for bank in shown["order"]:
            option = q.options[bank]
            assert option.text in part and option.feedback in part
            where.append(part.index(option.text))
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
