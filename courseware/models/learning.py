"""What learners do: read modules, give feedback, attempt quizzes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courseware.domain.clock import utcnow
from courseware.models.base import Base
from courseware.models.content import ContentVersion


class ModuleRead(Base):
    __tablename__ = "module_read"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModuleFeedback(Base):
    __tablename__ = "module_feedback"
    __table_args__ = (
        UniqueConstraint("user_id", "module_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


OPEN_ATTEMPT = text("submitted_at IS NULL")


class QuizAttempt(Base):
    __tablename__ = "quiz_attempt"
    __table_args__ = (
        UniqueConstraint("user_id", "quiz_id", "number"),
        Index("ix_quiz_attempt_quiz", "quiz_id", "user_id"),  # one quiz's results
        Index("ix_quiz_attempt_submitted", "submitted_at"),  # the dashboard's counts
        Index("ix_quiz_attempt_passed", "passed"),
        # at most one attempt in progress per learner and quiz, even under concurrent starts
        Index("uq_quiz_attempt_open", "user_id", "quiz_id", unique=True,
              sqlite_where=OPEN_ATTEMPT, postgresql_where=OPEN_ATTEMPT),
        CheckConstraint("percent IS NULL OR (percent >= 0 AND percent <= 100)", name="percent"),
        CheckConstraint(
            "(submitted_at IS NULL AND passed IS NULL) OR "
            "(submitted_at IS NOT NULL AND passed IS NOT NULL)",
            name="submitted_has_result",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    quiz_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    quiz_version_id: Mapped[int] = mapped_column(ForeignKey("content_version.id"))
    number: Mapped[int]
    # exactly what was shown: [{"id": question id, "hash": question hash, "order": [option idx]}]
    presented: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    percent: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None]

    quiz_version: Mapped[ContentVersion] = relationship()
    answers: Mapped[list[QuizAnswer]] = relationship(
        back_populates="attempt", order_by="QuizAnswer.position"
    )


class QuizAnswer(Base):
    __tablename__ = "quiz_answer"
    __table_args__ = (
        UniqueConstraint("attempt_id", "question_id"),
        Index("ix_quiz_answer_question", "question_id", "question_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempt.id"))
    position: Mapped[int]
    question_id: Mapped[str] = mapped_column(String(100))
    question_hash: Mapped[str] = mapped_column(String(64))
    # option indexes in the bank's order, not the shuffled order shown
    chosen: Mapped[list[int]] = mapped_column(JSON)
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)

    attempt: Mapped[QuizAttempt] = relationship(back_populates="answers")
