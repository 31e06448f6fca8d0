"""Reports for trainers and admins: quiz results, item statistics, completions."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import URL, case, func, select
from sqlalchemy.orm import Session

from courseware.domain.content.model import QuestionSpec
from courseware.domain.itemstats import ItemStats, Response, item_statistics
from courseware.domain.statuses import WAITING_SUBMISSION_STATUSES, ContentKind, Role
from courseware.models import (
    Certificate,
    ContentItem,
    ContentVersion,
    QuizAnswer,
    QuizAttempt,
    Submission,
    User,
)
from courseware.services import catalogue


@dataclass(frozen=True)
class ResultRow:
    learner: User
    quiz: ContentItem
    attempts: int
    best_percent: float | None
    passed: bool


def quiz_results(session: Session, quiz_slug: str | None = None,
                 learner_id: int | None = None) -> list[ResultRow]:
    stmt = (
        select(User, ContentItem, func.count(QuizAttempt.id), func.max(QuizAttempt.percent),
               func.max(case((QuizAttempt.passed.is_(True), 1), else_=0)))
        .join(QuizAttempt, QuizAttempt.user_id == User.id)
        .join(ContentItem, ContentItem.id == QuizAttempt.quiz_id)
        .where(QuizAttempt.submitted_at.is_not(None))
        .group_by(User.id, ContentItem.id)
        .order_by(User.name, ContentItem.position)
    )
    if quiz_slug:
        stmt = stmt.where(ContentItem.slug == quiz_slug)
    if learner_id:
        stmt = stmt.where(User.id == learner_id)
    return [ResultRow(user, quiz, count, best, bool(passed))
            for user, quiz, count, best, passed in session.execute(stmt)]


@dataclass(frozen=True)
class ItemReport:
    stats: ItemStats
    prompt: str
    options: list[tuple[str, bool, float]]  # text, correct, pick rate
    versions: list[int]


def item_report(session: Session, quiz_slug: str) -> list[ItemReport]:
    current = catalogue.item(session, ContentKind.QUIZ, quiz_slug)
    if current is None:
        return []
    rows = session.execute(
        select(QuizAnswer.question_id, QuizAnswer.question_hash, QuizAnswer.points,
               QuizAttempt.score, QuizAnswer.chosen)
        .join(QuizAttempt, QuizAttempt.id == QuizAnswer.attempt_id)
        .where(QuizAttempt.quiz_id == current.item.id, QuizAttempt.submitted_at.is_not(None))
    )
    stats = item_statistics(Response(qid, qhash, points, score or 0.0, chosen)
                            for qid, qhash, points, score, chosen in rows)
    # the wording of each question version, from whichever quiz version contains it
    texts: dict[tuple[str, str], tuple[QuestionSpec, list[int]]] = {}
    for version in session.scalars(select(ContentVersion).where(
            ContentVersion.item_id == current.item.id).order_by(ContentVersion.number)):
        spec = catalogue.quiz_spec(version)
        for question in spec.questions:
            key = (question.id, version.data["question_hashes"][question.id])
            entry = texts.setdefault(key, (question, []))
            entry[1].append(version.number)
    reports = []
    for s in stats:
        found = texts.get((s.question_id, s.question_hash))
        if found is None:
            continue
        question, versions = found
        options = [(o.text, o.correct, s.pick_rates.get(i, 0.0))
                   for i, o in enumerate(question.options)]
        reports.append(ItemReport(s, question.prompt, options, versions))
    return reports


_SUMMARIES: dict[URL, tuple[float, dict[str, int]]] = {}


def completion_summary(session: Session, max_age: float = 0) -> dict[str, int]:
    """The dashboard's counts, in one statement; a copy up to `max_age` seconds old is reused
    (per process), since counting a national program's rows is not free."""
    key = catalogue.database_key(session)
    cached = _SUMMARIES.get(key)
    if cached is not None and time.monotonic() - cached[0] < max_age:
        return cached[1]
    counts = {
        "learners": select(func.count()).select_from(User).where(User.role == Role.LEARNER),
        "certificates": select(func.count()).select_from(Certificate),
        "attempts": select(func.count()).select_from(QuizAttempt)
        .where(QuizAttempt.submitted_at.is_not(None)),
        "passed_attempts": select(func.count()).select_from(QuizAttempt)
        .where(QuizAttempt.passed.is_(True)),
        "submissions_waiting": select(func.count()).select_from(Submission)
        .where(Submission.status.in_(WAITING_SUBMISSION_STATUSES)),
    }
    row = session.execute(select(*(query.scalar_subquery().label(name)
                                   for name, query in counts.items()))).one()
    summary = {name: int(row._mapping[name] or 0) for name in counts}
    _SUMMARIES[key] = (time.monotonic(), summary)
    return summary
