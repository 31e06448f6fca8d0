"""Reports for trainers and admins: quiz results, item statistics, completions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
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


def completion_summary(session: Session) -> dict[str, int]:
    return {
        "learners": session.scalar(select(func.count()).select_from(User)
                                   .where(User.role == Role.LEARNER)) or 0,
        "certificates": session.scalar(select(func.count()).select_from(Certificate)) or 0,
        "attempts": session.scalar(select(func.count()).select_from(QuizAttempt)
                                   .where(QuizAttempt.submitted_at.is_not(None))) or 0,
        "passed_attempts": session.scalar(select(func.count()).select_from(QuizAttempt)
                                          .where(QuizAttempt.passed.is_(True))) or 0,
        "submissions_waiting": session.scalar(
            select(func.count()).select_from(Submission)
            .where(Submission.status.in_(WAITING_SUBMISSION_STATUSES))) or 0,
    }
