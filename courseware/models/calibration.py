"""Trainer calibration: a trainer's blind grades of a role-play's anchor responses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courseware.domain.clock import utcnow
from courseware.domain.statuses import CalibrationStatus, sql_in
from courseware.models.base import Base, EnumText
from courseware.models.content import ContentVersion
from courseware.models.users import User

OPEN_RUN = text(f"status = '{CalibrationStatus.IN_PROGRESS}'")


class CalibrationRun(Base):
    """One attempt at a role-play's calibration set. A failed run stays; a retry is a new one."""

    __tablename__ = "calibration_run"
    __table_args__ = (
        UniqueConstraint("trainer_id", "roleplay_id", "number"),
        CheckConstraint(sql_in("status", CalibrationStatus), name="status"),
        CheckConstraint(
            f"(status = '{CalibrationStatus.IN_PROGRESS}' AND completed_at IS NULL) OR "
            f"(status <> '{CalibrationStatus.IN_PROGRESS}' AND completed_at IS NOT NULL "
            "AND exact_percent IS NOT NULL AND adjacent_percent IS NOT NULL "
            "AND critical_agreed IS NOT NULL)",
            name="completed"),
        # one run in progress per trainer and role-play, even under a double click
        Index("uq_calibration_run_open", "trainer_id", "roleplay_id", unique=True,
              sqlite_where=OPEN_RUN, postgresql_where=OPEN_RUN),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    roleplay_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    calibration_version_id: Mapped[int] = mapped_column(ForeignKey("content_version.id"))
    # the role-play version whose rubric the anchors were checked against, and its rubric's hash:
    # a trainer is calibrated on a role-play while its current rubric has this hash
    roleplay_version_id: Mapped[int] = mapped_column(ForeignKey("content_version.id"))
    rubric_hash: Mapped[str] = mapped_column(String(64))
    number: Mapped[int]
    status: Mapped[CalibrationStatus] = mapped_column(EnumText(CalibrationStatus),
                                                      default=CalibrationStatus.IN_PROGRESS)
    order: Mapped[list[str]] = mapped_column(JSON)  # anchor ids, in the order shown
    exact_required: Mapped[int]
    adjacent_required: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    exact_percent: Mapped[float | None] = mapped_column(Float)
    adjacent_percent: Mapped[float | None] = mapped_column(Float)
    critical_agreed: Mapped[bool | None]

    trainer: Mapped[User] = relationship()
    calibration_version: Mapped[ContentVersion] = relationship(
        foreign_keys=[calibration_version_id])
    roleplay_version: Mapped[ContentVersion] = relationship(foreign_keys=[roleplay_version_id])
    answers: Mapped[list[CalibrationAnswer]] = relationship(
        back_populates="run", order_by="CalibrationAnswer.id")


class CalibrationAnswer(Base):
    """The levels a trainer gave one anchor, blind; never changed."""

    __tablename__ = "calibration_answer"
    __table_args__ = (UniqueConstraint("run_id", "anchor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("calibration_run.id"))
    anchor_id: Mapped[str] = mapped_column(String(100))
    levels: Mapped[dict[str, int]] = mapped_column(JSON)
    comments: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[CalibrationRun] = relationship(back_populates="answers")
