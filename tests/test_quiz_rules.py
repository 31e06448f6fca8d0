"""The quiz rules in courseware/quiz.py as plain functions: scoring, passing, drawing, checking."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courseware.domain.content.model import OptionSpec, QuestionSpec, QuizSpec
from courseware.domain.quiz import (
    AnswerError,
    Presented,
    draw,
    score_attempt,
    score_question,
    validate_answers,
)

# --- builders and strategies -----------------------------------------------------------------


def question(qid: str, kind: str, correct: list[bool], texts: list[str] | None = None
             ) -> QuestionSpec:
    texts = texts or [f"{qid} option {i}" for i in range(len(correct))]
    return QuestionSpec(
        id=qid, kind=kind, scenario=False, prompt=f"Prompt of {qid}?",
        explanation=f"Why {qid}.",
        options=tuple(OptionSpec(t, c, f"feedback {t}") for t, c in zip(texts, correct,
                                                                        strict=True)),
    )


def quiz_of(questions: list[QuestionSpec], *, per_attempt: int | None = None,
            pass_percent: int = 80) -> QuizSpec:
    return QuizSpec(
        slug="q", module="m", title="Quiz", pass_percent=pass_percent,
        questions_per_attempt=len(questions) if per_attempt is None else per_attempt,
        max_attempts=0, cooldown_minutes=0, questions=tuple(questions),
    )


def shown_as_bank(quiz: QuizSpec) -> list[Presented]:
    return [Presented(q.id, f"hash-{q.id}", tuple(range(len(q.options))))
            for q in quiz.questions]


@st.composite
def questions(draw_: st.DrawFn, qid: str = "q", kind: str | None = None) -> QuestionSpec:
    kind = kind or draw_(st.sampled_from(["single", "multiple", "true_false"]))
    if kind == "true_false":
        texts = draw_(st.permutations(["True", "False"]))
        right = draw_(st.sampled_from(texts))
        return question(qid, kind, [t == right for t in texts], list(texts))
    n = draw_(st.integers(min_value=2, max_value=8))
    if kind == "single":
        right = draw_(st.integers(min_value=0, max_value=n - 1))
        return question(qid, kind, [i == right for i in range(n)])
    correct = draw_(st.lists(st.booleans(), min_size=n, max_size=n).filter(any))
    return question(qid, kind, correct)


@st.composite
def quiz_with_answers(draw_: st.DrawFn) -> tuple[QuizSpec, dict[str, frozenset[int]]]:
    count = draw_(st.integers(min_value=1, max_value=6))
    bank = [draw_(questions(qid=f"q{i}")) for i in range(count)]
    answers: dict[str, frozenset[int]] = {}
    for q in bank:
        n = len(q.options)
        if q.kind == "multiple":
            chosen = draw_(st.sets(st.integers(0, n - 1)))
        else:
            chosen = draw_(st.sets(st.integers(0, n - 1), max_size=1))
        if chosen or draw_(st.booleans()):
            answers[q.id] = frozenset(chosen)
    return quiz_of(bank, pass_percent=draw_(st.integers(1, 100))), answers


# --- scoring properties ------------------------------------------------------------------------


@given(quiz_with_answers())
def test_score_is_within_zero_and_max(case: tuple[QuizSpec, dict[str, frozenset[int]]]) -> None:
    quiz, answers = case
    score = score_attempt(quiz, shown_as_bank(quiz), answers)
    assert score.max_points == len(quiz.questions)
    assert 0 <= score.points <= score.max_points
    assert all(0 <= s.points <= 1 for s in score.questions)
    assert 0.0 <= score.percent <= 100.0
    assert score.passed == (score.points * 100 >= quiz.pass_percent * score.max_points)


@given(quiz_with_answers())
def test_a_perfect_answer_scores_max(case: tuple[QuizSpec, dict[str, frozenset[int]]]) -> None:
    quiz, _ = case
    perfect = {q.id: q.correct_indexes for q in quiz.questions}
    score = score_attempt(quiz, shown_as_bank(quiz), perfect)
    assert score.points == score.max_points
    assert score.percent == 100.0
    assert score.passed
    assert all(s.correct for s in score.questions)


@given(quiz_with_answers(), st.randoms(use_true_random=False))
def test_permuting_questions_and_options_does_not_change_the_score(
    case: tuple[QuizSpec, dict[str, frozenset[int]]], rnd: random.Random
) -> None:
    quiz, answers = case
    original = score_attempt(quiz, shown_as_bank(quiz), answers)

    permuted_questions = []
    relabelled: dict[str, frozenset[int]] = {}
    for q in quiz.questions:
        perm = list(range(len(q.options)))  # new position i holds old option perm[i]
        rnd.shuffle(perm)
        new_index = {old: new for new, old in enumerate(perm)}
        permuted_questions.append(QuestionSpec(
            id=q.id, kind=q.kind, scenario=q.scenario, prompt=q.prompt,
            explanation=q.explanation, options=tuple(q.options[old] for old in perm)))
        if q.id in answers:
            relabelled[q.id] = frozenset(new_index[o] for o in answers[q.id])
    rnd.shuffle(permuted_questions)
    permuted = quiz_of(permuted_questions, pass_percent=quiz.pass_percent)
    presented = shown_as_bank(permuted)
    rnd.shuffle(presented)  # the order shown does not matter either

    again = score_attempt(permuted, presented, relabelled)
    assert again.points == original.points
    assert again.passed == original.passed
    by_id = {s.question_id: s.points for s in original.questions}
    assert {s.question_id: s.points for s in again.questions} == by_id


@given(questions(kind="multiple"), st.data())
def test_a_wrong_extra_choice_never_raises_a_multiple_score(q: QuestionSpec,
                                                            data: st.DataObject) -> None:
    wrong = sorted(set(range(len(q.options))) - q.correct_indexes)
    chosen = frozenset(data.draw(st.sets(st.sampled_from(range(len(q.options))))))
    extra_choices = [w for w in wrong if w not in chosen]
    if not extra_choices:
        return
    extra = data.draw(st.sampled_from(extra_choices))
    before, after = score_question(q, chosen), score_question(q, chosen | {extra})
    assert after <= before
    if before > 0:  # not already floored at 0: the wrong choice costs exactly 1/wrong
        assert after == max(Fraction(0), before - Fraction(1, len(wrong)))


@given(questions(kind="multiple"), st.data())
def test_a_right_extra_choice_never_lowers_a_multiple_score(q: QuestionSpec,
                                                           data: st.DataObject) -> None:
    chosen = frozenset(data.draw(st.sets(st.sampled_from(range(len(q.options))))))
    missing = sorted(q.correct_indexes - chosen)
    if not missing:
        return
    assert score_question(q, chosen | {missing[0]}) >= score_question(q, chosen)


@given(st.one_of(questions(kind="single"), questions(kind="true_false")), st.data())
def test_single_and_true_false_score_one_only_for_exactly_the_correct_option(
    q: QuestionSpec, data: st.DataObject
) -> None:
    n = len(q.options)
    chosen = frozenset(data.draw(st.sets(st.integers(0, n - 1))))
    expected = Fraction(1) if chosen == q.correct_indexes else Fraction(0)
    assert score_question(q, chosen) == expected
    (right,) = q.correct_indexes
    assert score_question(q, frozenset({right})) == 1
    for other in set(range(n)) - {right}:
        assert score_question(q, frozenset({other})) == 0
    assert score_question(q, frozenset()) == 0


# --- the documented multiple rule on worked examples -------------------------------------------

THREE_OF_FIVE = question("m", "multiple", [True, True, True, False, False])


@pytest.mark.parametrize(("chosen", "expected"), [
    ({0, 1, 2}, Fraction(1)),                    # all correct, no wrong: 3/3 - 0/2
    ({0, 1}, Fraction(2, 3)),                    # 2 of 3 correct: 2/3
    ({0, 1, 3}, Fraction(1, 6)),                 # 2/3 - 1/2 = 1/6
    ({0, 1, 2, 3}, Fraction(1, 2)),              # 3/3 - 1/2
    ({0, 1, 2, 3, 4}, Fraction(0)),              # choose all: 3/3 - 2/2 = 0
    ({0, 3, 4}, Fraction(0)),                    # 1/3 - 2/2 < 0, floored at 0
    ({3}, Fraction(0)),                          # 0/3 - 1/2 < 0, floored at 0
    (set(), Fraction(0)),                        # nothing chosen
    ({2}, Fraction(1, 3)),                       # 1/3
])
def test_multiple_rule_worked_examples(chosen: set[int], expected: Fraction) -> None:
    assert score_question(THREE_OF_FIVE, frozenset(chosen)) == expected


def test_multiple_with_every_option_correct_has_no_penalty_term() -> None:
    q = question("all", "multiple", [True, True, True])
    assert score_question(q, frozenset({0, 1, 2})) == 1
    assert score_question(q, frozenset({0})) == Fraction(1, 3)


def test_attempt_points_add_up_question_scores_exactly() -> None:
    quiz = quiz_of([THREE_OF_FIVE, question("s", "single", [False, True])])
    score = score_attempt(quiz, shown_as_bank(quiz), {"m": frozenset({0, 1, 3}),
                                                       "s": frozenset({1})})
    assert score.points == Fraction(7, 6)  # 1/6 + 1
    assert score.max_points == 2
    assert score.percent == pytest.approx(58.333333, abs=1e-5)  # 7/6 / 2 x 100
    assert not score.passed


# --- passing -----------------------------------------------------------------------------------


def _ten_singles(right: int, pass_percent: int) -> tuple[QuizSpec, dict[str, frozenset[int]]]:
    bank = [question(f"s{i}", "single", [True, False]) for i in range(10)]
    answers = {q.id: frozenset({0 if i < right else 1}) for i, q in enumerate(bank)}
    return quiz_of(bank, pass_percent=pass_percent), answers


@pytest.mark.parametrize(("right", "pass_percent", "passed"), [
    (8, 80, True),   # exactly at the pass mark passes
    (7, 80, False),
    (10, 100, True),
    (9, 100, False),
    (7, 70, True),
    (3, 30, True),
    (0, 1, False),
])
def test_pass_at_exactly_pass_percent(right: int, pass_percent: int, passed: bool) -> None:
    quiz, answers = _ten_singles(right, pass_percent)
    score = score_attempt(quiz, shown_as_bank(quiz), answers)
    assert score.points == right
    assert score.passed is passed
    assert score.percent == pytest.approx(right * 10)


def test_pass_mark_with_fractional_points_is_exact() -> None:
    # 1/2 + 1/3 + 1/6 is 0.9999999999999999 in floats; with fractions it is exactly 1, so
    # 2 singles right + those three = 3 of 6 points = exactly 50 %
    half = question("half", "multiple", [True, True, False])          # 1 of 2 right: 1/2
    third = question("third", "multiple", [True, True, True, False])  # 1 of 3 right: 1/3
    bank = [question("a", "single", [True, False]), question("b", "single", [True, False]),
            question("c", "single", [True, False]), half, third, THREE_OF_FIVE]
    answers = {"a": frozenset({0}), "b": frozenset({0}), "c": frozenset({1}),
               "half": frozenset({0}), "third": frozenset({0}), "m": frozenset({0, 1, 3})}
    at_mark = quiz_of(bank, pass_percent=50)
    score = score_attempt(at_mark, shown_as_bank(at_mark), answers)
    assert score.points == Fraction(3)  # 1 + 1 + 0 + 1/2 + 1/3 + 1/6
    assert score.max_points == 6
    assert score.passed
    assert score.percent == 50.0
    above = quiz_of(bank, pass_percent=51)
    assert not score_attempt(above, shown_as_bank(above), answers).passed


def test_unanswered_questions_score_nothing_but_still_count() -> None:
    quiz, answers = _ten_singles(10, 80)
    kept = dict(list(answers.items())[:8])
    score = score_attempt(quiz, shown_as_bank(quiz), kept)
    assert score.points == 8 and score.max_points == 10 and score.passed
    assert [s.chosen for s in score.questions][8:] == [frozenset(), frozenset()]


# --- drawing -----------------------------------------------------------------------------------


@st.composite
def banks(draw_: st.DrawFn) -> QuizSpec:
    count = draw_(st.integers(min_value=1, max_value=12))
    bank = [draw_(questions(qid=f"q{i}")) for i in range(count)]
    per_attempt = draw_(st.integers(min_value=1, max_value=count))
    return quiz_of(bank, per_attempt=per_attempt)


def _hashes(quiz: QuizSpec) -> dict[str, str]:
    return {q.id: f"hash-{q.id}" for q in quiz.questions}


@given(banks(), st.integers(min_value=0, max_value=2**32))
def test_draw_returns_distinct_questions_with_permuted_options(quiz: QuizSpec, seed: int) -> None:
    drawn = draw(quiz, _hashes(quiz), random.Random(seed))
    assert len(drawn) == quiz.questions_per_attempt
    ids = [p.question_id for p in drawn]
    assert len(set(ids)) == len(ids)
    for p in drawn:
        q = quiz.question(p.question_id)
        assert q is not None
        assert p.question_hash == f"hash-{q.id}"
        assert sorted(p.order) == list(range(len(q.options)))
        if q.kind == "true_false":
            assert [q.options[i].text for i in p.order] == ["True", "False"]


@given(banks(), st.integers(min_value=0, max_value=2**32))
def test_a_seeded_draw_is_reproducible(quiz: QuizSpec, seed: int) -> None:
    first = draw(quiz, _hashes(quiz), random.Random(seed))
    second = draw(quiz, _hashes(quiz), random.Random(seed))
    assert first == second


@given(banks(), st.integers(min_value=0, max_value=2**32))
def test_presented_round_trips_through_stored_data(quiz: QuizSpec, seed: int) -> None:
    for p in draw(quiz, _hashes(quiz), random.Random(seed)):
        assert Presented.from_data(p.to_data()) == p


def test_true_false_keeps_true_first_even_when_the_bank_lists_false_first() -> None:
    tf = question("tf", "true_false", [True, False], ["False", "True"])
    quiz = quiz_of([tf])
    for seed in range(20):
        (p,) = draw(quiz, _hashes(quiz), random.Random(seed))
        assert p.order == (1, 0)


def test_draw_shuffles_questions_and_options_across_seeds() -> None:
    bank = [question(f"q{i}", "single", [True, False, False, False]) for i in range(6)]
    quiz = quiz_of(bank, per_attempt=3)
    draws = {tuple((p.question_id, p.order) for p in draw(quiz, _hashes(quiz),
                                                          random.Random(seed)))
             for seed in range(30)}
    assert len(draws) > 20  # not one fixed draw
    drawn_ids = {qid for d in draws for qid, _ in d}
    assert drawn_ids == {q.id for q in bank}  # every question can be drawn
    orders = {order for d in draws for _, order in d}
    assert len(orders) > 5  # options are shuffled


# --- validating answers ------------------------------------------------------------------------

VALIDATION_QUIZ = quiz_of([
    question("s", "single", [False, True, False]),
    THREE_OF_FIVE,
    question("tf", "true_false", [True, False], ["True", "False"]),
    question("hidden", "single", [True, False]),
], per_attempt=3)
SHOWN = [Presented("s", "h-s", (2, 0, 1)), Presented("m", "h-m", (4, 3, 2, 1, 0)),
         Presented("tf", "h-tf", (0, 1))]


def test_validate_answers_accepts_answers_fitting_what_was_shown() -> None:
    clean = validate_answers(VALIDATION_QUIZ, SHOWN, {"s": [1], "m": [0, 3, 4], "tf": []})
    assert clean == {"s": frozenset({1}), "m": frozenset({0, 3, 4}), "tf": frozenset()}


@pytest.mark.parametrize(("answers", "message"), [
    ({"nope": [0]}, "not part of this attempt"),          # unknown question
    ({"hidden": [0]}, "not part of this attempt"),        # in the bank, not shown
    ({"s": [3]}, "not shown"),                            # option index beyond the shown ones
    ({"s": [-1]}, "not shown"),
    ({"tf": [2]}, "not shown"),
    ({"m": [0, 0]}, "twice"),                             # duplicate
    ({"s": [1, 1]}, "twice"),
    ({"s": [0, 1]}, "one answer"),                        # two answers to a single question
    ({"tf": [0, 1]}, "one answer"),
])
def test_validate_answers_rejects(answers: dict[str, list[int]], message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        validate_answers(VALIDATION_QUIZ, SHOWN, answers)


def test_validate_answers_rejects_a_question_missing_from_the_quiz_version() -> None:
    shown = [*SHOWN, Presented("gone", "h-gone", (0, 1))]
    with pytest.raises(AnswerError, match="not in this version"):
        validate_answers(VALIDATION_QUIZ, shown, {"gone": [0]})


@settings(max_examples=50)
@given(banks(), st.integers(min_value=0, max_value=2**32), st.data())
def test_validated_answers_always_score(quiz: QuizSpec, seed: int, data: st.DataObject) -> None:
    shown = draw(quiz, _hashes(quiz), random.Random(seed))
    answers: dict[str, list[int]] = {}
    for p in shown:
        q = quiz.question(p.question_id)
        assert q is not None
        size = len(q.options) if q.kind == "multiple" else 1
        answers[p.question_id] = data.draw(st.lists(st.sampled_from(p.order), max_size=size,
                                                    unique=True))
    clean = validate_answers(quiz, shown, answers)
    score = score_attempt(quiz, shown, clean)
    assert 0 <= score.points <= quiz.questions_per_attempt
