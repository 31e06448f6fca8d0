"""Role-play submissions and the grades trainers give them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courseware.domain.clock import utcnow
from courseware.domain.statuses import (
    OPEN_SUBMISSION_STATUSES,
    GradeKind,
    LiveFormat,
    ModerationCause,
    ModerationDecision,
    Outcome,
    SubmissionMode,
    SubmissionStatus,
    sql_in,
)
from courseware.models.base import Base, EnumText
from courseware.models.content import ContentVersion
from courseware.models.users import User

OPEN_SUBMISSION = text(sql_in("status", OPEN_SUBMISSION_STATUSES))


class Submission(Base):
    __tablename__ = "submission"
    __table_args__ = (
        CheckConstraint(sql_in("status", SubmissionStatus), name="status"),
        CheckConstraint(sql_in("mode", SubmissionMode), name="mode"),
        CheckConstraint(
            "live_format IS NULL OR " + sql_in("live_format", LiveFormat),
            name="live_format",
        ),
        CheckConstraint("duration_minutes IS NULL OR duration_minutes BETWEEN 1 AND 600",
                        name="duration"),
        # one piece of work in progress per learner and role-play, even under double posts
        Index("uq_submission_open", "learner_id", "roleplay_id", unique=True,
              sqlite_where=OPEN_SUBMISSION, postgresql_where=OPEN_SUBMISSION),
        # a returned submission is resubmitted at most once
        UniqueConstraint("previous_id"),
        Index("ix_submission_queue", "status", "submitted_at"),
        # a learner's own work, whatever everyone else has submitted
        Index("ix_submission_learner", "learner_id", "roleplay_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    roleplay_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    roleplay_version_id: Mapped[int] = mapped_column(ForeignKey("content_version.id"))
    mode: Mapped[SubmissionMode] = mapped_column(EnumText(SubmissionMode, 8),
                                                 default=SubmissionMode.WRITTEN)
    status: Mapped[SubmissionStatus] = mapped_column(EnumText(SubmissionStatus),
                                                     default=SubmissionStatus.DRAFT)
    replies: Mapped[list[str]] = mapped_column(JSON, default=list)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    claimed_at: Mapped[datetime | None]
    # a live role-play, run by a trainer in person, by phone or by video
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    held_on: Mapped[date | None]
    live_format: Mapped[LiveFormat | None] = mapped_column(EnumText(LiveFormat))
    duration_minutes: Mapped[int | None]
    live_notes: Mapped[str | None] = mapped_column(Text)
    # chosen at submission for a blind second grade (a keyed hash of the id: see domain.sampling)
    double_mark: Mapped[bool] = mapped_column(default=False, server_default=false())
    # the grade whose outcome the learner has: set when the submission is passed or returned
    decided_grade_id: Mapped[int | None] = mapped_column(
        ForeignKey("grade.id", use_alter=True, name="fk_submission_decided_grade_id_grade"))

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    roleplay_version: Mapped[ContentVersion] = relationship()
    previous: Mapped[Submission | None] = relationship(remote_side=[id])
    grades: Mapped[list[Grade]] = relationship(back_populates="submission", order_by="Grade.number",
                                               foreign_keys="Grade.submission_id")
    decided_grade: Mapped[Grade | None] = relationship(foreign_keys=[decided_grade_id],
                                                       post_update=True)
    moderations: Mapped[list[Moderation]] = relationship(order_by="Moderation.id",
                                                         viewonly=True)


class Grade(Base):
    """One trainer's judgement; never updated. An amendment or moderation is a new number."""

    __tablename__ = "grade"
    __table_args__ = (
        # two trainers saving at once both aim for the same number: the database keeps one
        UniqueConstraint("submission_id", "number"),
        CheckConstraint(sql_in("kind", GradeKind), name="kind"),
        CheckConstraint(sql_in("outcome", Outcome), name="outcome"),
        CheckConstraint(
            "decision IS NULL OR " + sql_in("decision", ModerationDecision), name="decision"
        ),
        CheckConstraint("total >= 0 AND total <= max_total", name="total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    number: Mapped[int]
    kind: Mapped[GradeKind] = mapped_column(EnumText(GradeKind))
    grader_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    levels: Mapped[dict[str, int]] = mapped_column(JSON)
    comments: Mapped[dict[str, str]] = mapped_column(JSON)
    feedback: Mapped[str] = mapped_column(Text)
    total: Mapped[int]
    max_total: Mapped[int]
    outcome: Mapped[Outcome] = mapped_column(EnumText(Outcome))
    failing: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    needs_moderation: Mapped[bool] = mapped_column(default=False)
    decision: Mapped[ModerationDecision | None] = mapped_column(EnumText(ModerationDecision))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="grades",
                                                  foreign_keys=[submission_id])
    grader: Mapped[User] = relationship()


class Moderation(Base):
    """A moderator's decision, taken after their own blind grade: confirm the grade under review
    or overturn it (with a reason). Records how far the two (or three) blind grades agreed."""

    __tablename__ = "moderation"
    __table_args__ = (
        UniqueConstraint("grade_id"),
        CheckConstraint(sql_in("decision", ModerationDecision), name="decision"),
        CheckConstraint(sql_in("cause", ModerationCause), name="cause"),
        CheckConstraint(f"decision = '{ModerationDecision.CONFIRMED}' OR reason IS NOT NULL",
                        name="reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    grade_id: Mapped[int] = mapped_column(ForeignKey("grade.id"))  # the moderator's blind grade
    reviewed_grade_id: Mapped[int] = mapped_column(ForeignKey("grade.id"))
    moderator_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    cause: Mapped[ModerationCause] = mapped_column(EnumText(ModerationCause))
    decision: Mapped[ModerationDecision] = mapped_column(EnumText(ModerationDecision))
    reason: Mapped[str | None] = mapped_column(Text)
    # per criterion: {"levels": [reviewed, (double mark,) moderator], "exact": bool, "adjacent"}
    agreement: Mapped[dict[str, Any]] = mapped_column(JSON)
    exact_percent: Mapped[float] = mapped_column(Float)
    adjacent_percent: Mapped[float] = mapped_column(Float)
    outcome_agreed: Mapped[bool]
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    grade: Mapped[Grade] = relationship(foreign_keys=[grade_id])
    reviewed_grade: Mapped[Grade] = relationship(foreign_keys=[reviewed_grade_id])
    moderator: Mapped[User] = relationship()
