"""Quiz rules as plain functions: drawing an attempt, validating answers, scoring.

Scoring rule (also in the README):
- `single` and `true_false`: 1 point when the chosen option is the correct one, else 0.
- `multiple`: (correct options chosen / correct options) - (wrong options chosen / wrong
  options), floored at 0. A perfect answer earns 1 point; choosing every option earns 0;
  a wrong extra choice can only lower the score.
- The attempt's percent is points / questions presented x 100; it passes at `pass_percent`.
Arithmetic is exact (fractions), so 8 of 10 at an 80 % pass mark passes without rounding luck.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from courseware.domain.content.model import QuestionSpec, QuizSpec


class AnswerError(ValueError):
    """Answers that do not fit the attempt as it was presented."""


@dataclass(frozen=True)
class Presented:
    question_id: str
    question_hash: str
    order: tuple[int, ...]  # bank option indexes in the order shown

    def to_data(self) -> dict[str, object]:
        return {"id": self.question_id, "hash": self.question_hash, "order": list(self.order)}

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> Presented:
        order = data["order"]
        assert isinstance(order, list)
        return cls(str(data["id"]), str(data["hash"]), tuple(int(i) for i in order))


@dataclass(frozen=True)
class QuestionScore:
    question_id: str
    chosen: frozenset[int]
    points: Fraction

    @property
    def correct(self) -> bool:
        return self.points == 1


@dataclass(frozen=True)
class AttemptScore:
    questions: tuple[QuestionScore, ...]
    points: Fraction
    max_points: int
    passed: bool

    @property
    def percent(self) -> float:
        return float(self.points * 100 / self.max_points) if self.max_points else 0.0


def draw(quiz: QuizSpec, hashes: Mapping[str, str], rng: random.Random) -> list[Presented]:
    """Questions drawn from the bank and options shuffled, as one learner will see them."""
    chosen = rng.sample(list(quiz.questions), quiz.questions_per_attempt)
    presented = []
    for question in chosen:
        order = list(range(len(question.options)))
        if question.kind == "true_false":
            # "True" before "False" reads naturally; shuffling them only adds noise
            order.sort(key=lambda i: question.options[i].text != "True")
        else:
            rng.shuffle(order)
        presented.append(Presented(question.id, hashes[question.id], tuple(order)))
    return presented


def score_question(question: QuestionSpec, chosen: frozenset[int]) -> Fraction:
    correct = question.correct_indexes
    if question.kind in ("single", "true_false"):
        return Fraction(1) if chosen == correct else Fraction(0)
    wrong = frozenset(range(len(question.options))) - correct
    earned = Fraction(len(chosen & correct), len(correct))
    cost = Fraction(len(chosen & wrong), len(wrong)) if wrong else Fraction(0)
    return max(Fraction(0), earned - cost)


def validate_answers(
    quiz: QuizSpec, presented: Sequence[Presented], answers: Mapping[str, Sequence[int]]
) -> dict[str, frozenset[int]]:
    """Answers keyed by question id, checked against exactly what was shown."""
    shown = {p.question_id: p for p in presented}
    clean: dict[str, frozenset[int]] = {}
    for question_id, options in answers.items():
        item = shown.get(question_id)
        if item is None:
            raise AnswerError(f"question '{question_id}' was not part of this attempt")
        chosen = frozenset(options)
        if len(chosen) != len(options):
            raise AnswerError(f"question '{question_id}' names an option twice")
        if not chosen <= set(item.order):
            raise AnswerError(f"question '{question_id}' names an option that was not shown")
        question = quiz.question(question_id)
        if question is None:
            raise AnswerError(f"question '{question_id}' is not in this version of the quiz")
        if question.kind != "multiple" and len(chosen) > 1:
            raise AnswerError(f"question '{question_id}' takes one answer")
        clean[question_id] = chosen
    return clean


def score_attempt(
    quiz: QuizSpec, presented: Sequence[Presented], answers: Mapping[str, frozenset[int]]
) -> AttemptScore:
    scores = []
    for item in presented:
        question = quiz.question(item.question_id)
        if question is None:
            raise AnswerError(f"question '{item.question_id}' is missing from the quiz version")
        chosen = answers.get(item.question_id, frozenset())
        scores.append(QuestionScore(item.question_id, chosen, score_question(question, chosen)))
    points = sum((s.points for s in scores), Fraction(0))
    max_points = len(presented)
    passed = max_points > 0 and points * 100 >= quiz.pass_percent * max_points
    return AttemptScore(tuple(scores), points, max_points, passed)
