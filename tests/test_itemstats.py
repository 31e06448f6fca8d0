"""Item statistics on hand-computed data, then the trainer's reports and CSV downloads."""

from __future__ import annotations

import csv
import html
import io
import math
import re
import shutil
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from courseware.domain import clock
from courseware.domain.itemstats import MIN_RESPONSES, ItemStats, Response, item_statistics
from courseware.infra.config import PROJECT_ROOT
from courseware.models import QuizAnswer, QuizAttempt, User
from tests import helpers
from tests.conftest import Auth, UserFactory, make_app

SLUG = "foundations"

# --- the pure function on a small known data set -----------------------------------------------
#
# Four attempts, each with items A (single), B (multiple, partial credit) and C, plus other
# questions ("rest" below is the attempt total minus the item's own points):
#
#   attempt  A  B    C  others  total
#      1     1  1    1  1       4
#      2     1  0.5  1  -0.5*   2      (*whatever the other items add up to)
#      3     0  0    1  1       2
#      4     0  0    1  -1*     0
#
# Totals are what matter: [4, 2, 2, 0].

TOTALS = [4.0, 2.0, 2.0, 0.0]
A_POINTS, A_CHOSEN = [1.0, 1.0, 0.0, 0.0], [[1], [1], [0], [2]]
B_POINTS, B_CHOSEN = [1.0, 0.5, 0.0, 0.0], [[0, 1], [0], [2], []]


def known_responses() -> list[Response]:
    responses = []
    for i, total in enumerate(TOTALS):
        responses.append(Response("A", "hash-a1", A_POINTS[i], total, A_CHOSEN[i]))
        responses.append(Response("B", "hash-b1", B_POINTS[i], total, B_CHOSEN[i]))
        responses.append(Response("C", "hash-c1", 1.0, total, [3]))
    # A second version of A (reworded): two answers, whose rest scores do not vary
    responses.append(Response("A", "hash-a2", 1.0, 2.0, [1]))  # rest 1
    responses.append(Response("A", "hash-a2", 0.0, 1.0, [0]))  # rest 1
    # D: answered once only
    responses.append(Response("D", "hash-d1", 1.0, 3.0, [0]))
    return responses


def by_key(stats: list[ItemStats]) -> dict[tuple[str, str], ItemStats]:
    return {(s.question_id, s.question_hash): s for s in stats}


def test_item_statistics_on_a_known_data_set() -> None:
    stats = item_statistics(known_responses())
    # one entry per question version, sorted by (id, hash)
    assert [(s.question_id, s.question_hash) for s in stats] == [
        ("A", "hash-a1"), ("A", "hash-a2"), ("B", "hash-b1"), ("C", "hash-c1"),
        ("D", "hash-d1")]
    got = by_key(stats)

    a = got[("A", "hash-a1")]
    assert a.answered == 4
    assert a.facility == pytest.approx(0.5)  # 2 fully right of 4
    # item x = [1, 1, 0, 0], rest r = total - points = [3, 1, 2, 0]
    # mean x = 0.5, mean r = 1.5; dx = [.5, .5, -.5, -.5], dr = [1.5, -.5, .5, -1.5]
    # cov = .75 - .25 - .25 + .75 = 1.0; var x = 4 * .25 = 1.0; var r = 2.25+.25+.25+2.25 = 5.0
    # r = 1.0 / sqrt(1.0 * 5.0) = 0.4472136
    assert a.discrimination == pytest.approx(0.4472136, abs=1e-6)
    # chosen [1], [1], [0], [2]: option 1 by 2 of 4, options 0 and 2 by 1 of 4 each
    assert a.pick_rates == pytest.approx({0: 0.25, 1: 0.5, 2: 0.25})
    assert list(a.pick_rates) == [0, 1, 2]

    b = got[("B", "hash-b1")]
    assert b.answered == 4
    assert b.facility == pytest.approx(0.25)  # only attempt 1 fully right; 0.5 is not "right"
    # item x = [1, 0, 0, 0] (fully right or not), rest r = [4-1, 2-.5, 2-0, 0-0] = [3, 1.5, 2, 0]
    # mean x = .25, mean r = 6.5/4 = 1.625
    # dx = [.75, -.25, -.25, -.25], dr = [1.375, -.125, .375, -1.625]
    # cov = 1.03125 + .03125 - .09375 + .40625 = 1.375
    # var x = .5625 + 3 * .0625 = .75; var r = 1.890625 + .015625 + .140625 + 2.640625 = 4.6875
    # r = 1.375 / sqrt(.75 * 4.6875) = 1.375 / 1.875 = 0.7333333 (11/15)
    assert b.discrimination == pytest.approx(11 / 15)
    # chosen [0, 1], [0], [2], []: option 0 by 2 of 4, 1 by 1 of 4, 2 by 1 of 4, 3 by none
    assert b.pick_rates == pytest.approx({0: 0.5, 1: 0.25, 2: 0.25})

    c = got[("C", "hash-c1")]
    assert c.facility == 1.0
    assert c.discrimination is None  # everyone right: the item has no variance
    assert c.pick_rates == {3: 1.0}

    a2 = got[("A", "hash-a2")]
    assert a2.answered == 2 and a2.facility == pytest.approx(0.5)
    assert a2.discrimination is None  # rest scores [1, 1] do not vary
    assert a2.pick_rates == pytest.approx({0: 0.5, 1: 0.5})

    d = got[("D", "hash-d1")]
    assert d.answered == 1 and d.facility == 1.0 and d.discrimination is None

    assert all(s.flags == () for s in stats)  # fewer than 10 answers each: never flagged


def test_the_item_is_not_correlated_with_itself() -> None:
    # If the item's own points stayed in the total, an item that nobody else's score explains
    # would still look discriminating. Here the rest is identical for everyone (2.0), so the
    # corrected correlation is undefined, although item and total correlate perfectly.
    responses = [Response("X", "h", p, 2.0 + p, []) for p in (1.0, 0.0, 1.0, 0.0)]
    (x,) = item_statistics(responses)
    assert x.discrimination is None


def test_a_negatively_discriminating_item() -> None:
    # x = [1, 0], rest = [0, 1]: those who got it right did worse elsewhere
    responses = [Response("X", "h", 1.0, 1.0, [0]), Response("X", "h", 0.0, 1.0, [1])]
    (x,) = item_statistics(responses)
    assert x.discrimination == pytest.approx(-1.0)


def _many(correct: list[bool], rests: list[float]) -> list[Response]:
    return [Response("X", "h", 1.0 if c else 0.0, r + (1.0 if c else 0.0), [0 if c else 1])
            for c, r in zip(correct, rests, strict=True)]


def test_flags_need_at_least_ten_answers() -> None:
    assert MIN_RESPONSES == 10
    (nine,) = item_statistics(_many([True] * 9, [float(i) for i in range(9)]))
    assert nine.facility == 1.0 and nine.flags == ()
    (ten,) = item_statistics(_many([True] * 10, [float(i) for i in range(10)]))
    assert ten.facility == 1.0 and ten.discrimination is None
    assert ten.flags == ("very easy",)


def test_very_hard_flag() -> None:
    # 2 of 10 right, and they are the two strongest elsewhere: hard but discriminating
    correct = [True, True] + [False] * 8
    rests = [9.0, 8.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 2.0]
    (x,) = item_statistics(_many(correct, rests))
    assert x.facility == pytest.approx(0.2)
    assert x.discrimination is not None and x.discrimination > 0.2
    assert x.flags == ("very hard",)


def test_poor_discrimination_flag() -> None:
    # 5 of 10 right, and they are the weakest elsewhere: x and rest move in opposite ways
    correct = [True] * 5 + [False] * 5
    rests = [1.0, 2.0, 1.0, 2.0, 1.0, 8.0, 9.0, 8.0, 9.0, 8.0]
    (x,) = item_statistics(_many(correct, rests))
    assert x.facility == 0.5
    assert x.discrimination is not None and x.discrimination < 0
    assert x.flags == ("poor discrimination",)


def test_very_easy_and_poor_together_and_the_boundaries() -> None:
    # 10 of 11 right (facility .909 > .9); the one wrong answer is the strongest elsewhere
    correct = [True] * 10 + [False]
    rests = [1.0, 2.0] * 5 + [9.0]
    (x,) = item_statistics(_many(correct, rests))
    assert x.facility == pytest.approx(10 / 11)
    assert x.flags == ("very easy", "poor discrimination")
    # exactly 0.9 and exactly 0.3 are not flagged: the thresholds are strict
    (easy_edge,) = item_statistics(_many([True] * 9 + [False], [1.0] * 9 + [0.0]))
    assert easy_edge.facility == pytest.approx(0.9)
    assert "very easy" not in easy_edge.flags
    (hard_edge,) = item_statistics(_many([True] * 3 + [False] * 7, [5.0] * 3 + [0.0] * 7))
    assert hard_edge.facility == pytest.approx(0.3)
    assert "very hard" not in hard_edge.flags
    assert hard_edge.discrimination == pytest.approx(1.0)


def test_discrimination_matches_a_direct_pearson_computation() -> None:
    correct = [True, False, True, True, False, False, True, False, True, True, False, True]
    rests = [5.0, 3.5, 4.0, 6.0, 2.5, 4.5, 3.0, 1.0, 5.5, 2.0, 3.0, 4.0]
    (x,) = item_statistics(_many(correct, rests))
    xs = [1.0 if c else 0.0 for c in correct]
    n = len(xs)
    mx, mr = sum(xs) / n, sum(rests) / n
    cov = sum((a - mx) * (b - mr) for a, b in zip(xs, rests, strict=True))
    expected = cov / math.sqrt(sum((a - mx) ** 2 for a in xs) * sum((b - mr) ** 2
                                                                    for b in rests))
    assert x.discrimination == pytest.approx(expected)
    assert x.answered == 12 and x.facility == pytest.approx(7 / 12)


# --- through HTTP as a trainer -----------------------------------------------------------------


def logged_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(user).status_code == 302
    return client


def take(app: Flask, user: User, *, wrong: int = 0, slug: str = SLUG) -> int:
    client = logged_in(app, user)
    helpers.read_module(client, slug)
    if wrong == 0:
        return helpers.pass_quiz(client, app, slug)
    attempt_id = helpers.start_quiz(client, slug)
    response = client.post(f"/attempts/{attempt_id}",
                           data=helpers.answers_for(app, attempt_id, wrong=wrong))
    assert response.status_code == 302
    return attempt_id


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def answer_rows(app: Flask) -> list[tuple[str, str, float, list[int]]]:
    with app.app_context(), helpers.session(app) as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(QuizAnswer.question_id, QuizAnswer.question_hash, QuizAnswer.points,
                   QuizAnswer.chosen)
            .join(QuizAttempt, QuizAttempt.id == QuizAnswer.attempt_id)
            .where(QuizAttempt.submitted_at.is_not(None)))]


@pytest.fixture
def taken(app: Flask, make_user: UserFactory, frozen: Any) -> dict[str, User]:
    """Three learners took the foundations quiz: one passed, one failed, one failed then
    passed; and one has a name that a spreadsheet would run as a formula."""
    users = {
        "pass": make_user("learner", name="Paula Pass"),
        "fail": make_user("learner", name="Fred Fail"),
        "formula": make_user("learner", name="=HYPERLINK(1)"),
    }
    take(app, users["pass"])
    take(app, users["fail"], wrong=5)
    client = logged_in(app, users["formula"])
    helpers.read_module(client, SLUG)
    first = helpers.start_quiz(client, SLUG)
    assert client.post(f"/attempts/{first}",
                       data=helpers.answers_for(app, first, wrong=4)).status_code == 302
    clock.freeze(clock.utcnow() + timedelta(minutes=10))
    helpers.pass_quiz(client, app, SLUG)
    return users


RESULTS_HEADER = ["learner", "email", "quiz", "attempts", "best_percent", "passed"]
ITEMS_HEADER = ["question_id", "question_hash", "versions", "answered", "facility",
                "discrimination", "flags", "option_pick_rates"]


def test_results_csv_has_a_row_per_learner_and_quiz(
    app: Flask, trainer: User, taken: dict[str, User]
) -> None:
    formula, fail, passed = taken["formula"], taken["fail"], taken["pass"]
    helpers.start_quiz(logged_in(app, fail), SLUG)  # an attempt in progress does not count
    client = logged_in(app, trainer)
    rows = read_csv(client.get("/grade/reports/quizzes.csv"))
    assert rows[0] == RESULTS_HEADER
    # the formula is neutralised with a quote (rows are sorted by name, but where "=" sorts
    # depends on the database's collation, so compare without order)
    assert sorted(rows[1:]) == sorted([
        ["'=HYPERLINK(1)", formula.email, SLUG, "2", "100.0", "yes"],
        ["Fred Fail", fail.email, SLUG, "1", "50.0", "no"],
        ["Paula Pass", passed.email, SLUG, "1", "100.0", "yes"],
    ])
    names = [r[0] for r in rows[1:]]
    assert names.index("Fred Fail") < names.index("Paula Pass")
    filtered = read_csv(client.get(f"/grade/reports/quizzes.csv?quiz={SLUG}"))
    assert filtered == rows
    other = read_csv(client.get("/grade/reports/quizzes.csv?quiz=boundaries"))
    assert other == [RESULTS_HEADER]


def test_results_csv_row_per_quiz(app: Flask, trainer: User, make_user: UserFactory,
                                  frozen: Any) -> None:
    learner = make_user("learner", name="Quinn Quizzer")
    client = logged_in(app, learner)
    helpers.read_module(client, "foundations")
    helpers.read_module(client, "active-listening")
    helpers.pass_quiz(client, app, "foundations")
    attempt_id = helpers.start_quiz(client, "active-listening")
    assert client.post(f"/attempts/{attempt_id}",
                       data=helpers.answers_for(app, attempt_id, wrong=3)).status_code == 302
    rows = read_csv(logged_in(app, trainer).get("/grade/reports/quizzes.csv"))
    assert rows[1:] == [
        ["Quinn Quizzer", learner.email, "foundations", "1", "100.0", "yes"],
        ["Quinn Quizzer", learner.email, "active-listening", "1", "70.0", "no"],
    ]


@pytest.mark.parametrize("name", ["+SUM(1,2)", "-1+2", "@SUM(A1)", "=1+1"])
def test_csv_cells_that_would_run_as_formulas_are_neutralised(
    app: Flask, trainer: User, make_user: UserFactory, name: str
) -> None:
    take(app, make_user("learner", name=name))
    rows = read_csv(logged_in(app, trainer).get("/grade/reports/quizzes.csv"))
    assert rows[1][0] == "'" + name
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)


def test_items_csv_has_a_row_per_question_version(
    app: Flask, trainer: User, taken: dict[str, User]
) -> None:
    client = logged_in(app, trainer)
    rows = read_csv(client.get(f"/grade/reports/items.csv?quiz={SLUG}"))
    assert rows[0] == ITEMS_HEADER
    answers = answer_rows(app)
    assert len(answers) == 4 * 10  # four submitted attempts, ten questions each
    groups: dict[tuple[str, str], list[tuple[float, list[int]]]] = defaultdict(list)
    for qid, qhash, points, chosen in answers:
        groups[(qid, qhash)].append((points, chosen))
    assert sorted((r[0], r[1]) for r in rows[1:]) == sorted(
        (qid, qhash[:12]) for qid, qhash in groups)
    _, spec = helpers.attempt_and_spec(app, 1)
    for row in rows[1:]:
        qid, short_hash, versions, answered, facility, discrimination, flags, picks = row
        (key,) = [k for k in groups if k[0] == qid and k[1][:12] == short_hash]
        group = groups[key]
        assert versions == "1"
        assert int(answered) == len(group)
        assert float(facility) == pytest.approx(
            round(sum(1 for p, _ in group if p >= 1) / len(group), 3))
        assert discrimination == "" or -1.0 <= float(discrimination) <= 1.0
        assert flags == ""  # at most four answers each: nothing flagged
        question = spec.question(qid)
        assert question is not None
        rates = [float(x) for x in picks.split(" | ")]
        assert len(rates) == len(question.options)
        for index, rate in enumerate(rates):
            expected = sum(1 for _, chosen in group if index in chosen) / len(group)
            assert rate == pytest.approx(round(expected, 3))
    assert client.get("/grade/reports/items.csv?quiz=no-such-quiz").status_code == 404
    assert client.get("/grade/reports/items.csv").status_code == 404


def test_items_csv_for_a_quiz_nobody_took_has_only_the_header(app: Flask,
                                                                trainer: User) -> None:
    rows = read_csv(logged_in(app, trainer).get("/grade/reports/items.csv?quiz=boundaries"))
    assert rows == [ITEMS_HEADER]


def test_the_reports_page(app: Flask, trainer: User, taken: dict[str, User]) -> None:
    client = logged_in(app, trainer)
    index = client.get("/grade/reports")
    assert index.status_code == 302 and index.headers["Location"].endswith(
        "/grade/reports/quizzes")
    response = client.get("/grade/reports/quizzes")
    assert response.status_code == 200
    text = re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))
    assert "<dt>Learners</dt><dd>3</dd>" in text
    assert "<dt>Quiz attempts</dt><dd>4</dd>" in text
    assert "<dt>Pass rate</dt><dd>50.0%</dd>" in text  # 2 of 4 attempts passed
    assert ("<td>Fred Fail</td><td>Foundations of peer mentoring quiz</td><td>1</td>"
            "<td>50.0%</td><td>no</td>") in text
    assert ("<td>=HYPERLINK(1)</td><td>Foundations of peer mentoring quiz</td><td>2</td>"
            "<td>100.0%</td><td>yes</td>") in text
    assert "Item statistics" not in text
    assert 'href="/grade/reports/quizzes.csv?quiz="' in response.get_data(as_text=True)

    detail = client.get(f"/grade/reports/quizzes?quiz={SLUG}")
    body = detail.get_data(as_text=True)
    assert "Item statistics" in body
    assert f'href="/grade/reports/items.csv?quiz={SLUG}"' in body
    keys = {(qid, qhash) for qid, qhash, _p, _c in answer_rows(app)}
    assert body.count('<section class="item-stat">') == len(keys)
    assert "(correct)" in body  # trainers see which options are right

    # an unknown quiz is ignored rather than an error
    assert client.get("/grade/reports/quizzes?quiz=nope").status_code == 200


@pytest.mark.parametrize("path", [
    "/grade/reports/quizzes", "/grade/reports/quizzes.csv",
    f"/grade/reports/items.csv?quiz={SLUG}", "/grade/reports",
])
def test_learners_may_not_see_reports(app: Flask, learner: User, path: str) -> None:
    take(app, learner)
    client = logged_in(app, learner)
    response = client.get(path)
    assert response.status_code == 403
    assert "text/csv" not in response.headers.get("Content-Type", "")
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_admins_may_see_reports(app: Flask, admin: User, taken: dict[str, User]) -> None:
    client = logged_in(app, admin)
    assert len(read_csv(client.get("/grade/reports/quizzes.csv"))) == 4
    assert client.get("/grade/reports/quizzes").status_code == 200


def test_items_csv_separates_question_versions(
    app: Flask, trainer: User, make_user: UserFactory, database_url: str, tmp_path: Path,
    frozen: Any
) -> None:
    before = make_user("learner", name="Vera Before")
    take(app, before)
    old_answers = answer_rows(app)

    root = tmp_path / "content"
    for name in ("modules", "quizzes", "certificates"):
        shutil.copytree(PROJECT_ROOT / name, root / name)
    path = root / "quizzes" / f"{SLUG}.quiz.toml"
    source = path.read_text()
    reworded_id = old_answers[0][0]  # a question the first learner was shown
    at = source.index(f'id = "{reworded_id}"')
    at = source.index("prompt = ", at)
    at = re.compile(r'prompt = ("""\n?|")').match(source, at).end()  # type: ignore[union-attr]
    path.write_text(source[:at] + "Reworded: " + source[at:])
    edited = make_app(database_url, tmp_path / "edited", CONTENT_ROOT=root)
    try:
        result = edited.test_cli_runner().invoke(args=["courseware", "sync"])
        assert result.exit_code == 0 and f"updated: quiz {SLUG}" in result.output
        after = make_user("learner", name="Alex After")
        take(edited, after)
        rows = read_csv(logged_in(edited, trainer).get(f"/grade/reports/items.csv?quiz={SLUG}"))
    finally:
        edited.extensions["courseware.db"].engine.dispose()

    old_hash = next(h for q, h, _p, _c in old_answers if q == reworded_id)
    expected: dict[tuple[str, str], str] = {}
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for qid, qhash, _points, _chosen in answer_rows(app):
        counts[(qid, qhash[:12])] += 1
        if qid != reworded_id:
            expected[(qid, qhash[:12])] = "1 2"  # unchanged: the same question version
        else:
            expected[(qid, qhash[:12])] = "1" if qhash == old_hash else "2"
    got = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert got == expected
    assert len(rows) - 1 == len(expected)
    assert {(r[0], r[1]): int(r[3]) for r in rows[1:]} == counts
    assert got[(reworded_id, old_hash[:12])] == "1"
