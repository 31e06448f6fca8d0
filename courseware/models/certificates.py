"""Issued certificates: the record programs verify."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from courseware.domain.clock import utcnow
from courseware.domain.statuses import PublicReason, sql_in
from courseware.models.base import Base, EnumText
from courseware.models.content import ContentItem, ContentVersion
from courseware.models.users import User


class Certificate(Base):
    __tablename__ = "certificate"
    __table_args__ = (
        # one certificate per learner, track and cycle: a race or a retry cannot issue two
        UniqueConstraint("user_id", "track_id", "cycle"),
        UniqueConstraint("previous_id"),
        CheckConstraint("cycle >= 1", name="cycle"),
        CheckConstraint("expires_at > issued_at", name="dates"),
        # a revocation or suspension always has its internal note (staff only); the public
        # reason is one of a short list (older records, from before the list, have none)
        CheckConstraint("revoked_at IS NULL OR revocation_note IS NOT NULL",
                        name="revocation_note"),
        CheckConstraint("suspended_at IS NULL OR suspension_note IS NOT NULL",
                        name="suspension_note"),
        CheckConstraint("revocation_public_reason IS NULL OR "
                        + sql_in("revocation_public_reason", PublicReason),
                        name="revocation_public_reason"),
        CheckConstraint("suspension_public_reason IS NULL OR "
                        + sql_in("suspension_public_reason", PublicReason),
                        name="suspension_public_reason"),
        CheckConstraint("NOT manual OR manual_reason IS NOT NULL", name="manual_reason"),
        Index("ix_certificate_issued", "issued_at", "id"),  # the admin list, newest first
        Index("ix_certificate_track_version", "track_version_id", "user_id"),  # the roster
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(27), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    track_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    track_version_id: Mapped[int] = mapped_column(ForeignKey("content_version.id"))
    cycle: Mapped[int] = mapped_column(default=1)
    holder_name: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    manual: Mapped[bool] = mapped_column(default=False)
    manual_reason: Mapped[str | None] = mapped_column(Text)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revocation_public_reason: Mapped[PublicReason | None] = mapped_column(
        EnumText(PublicReason, 32))
    revocation_public_text: Mapped[str | None] = mapped_column(Text)  # published word for word
    revocation_note: Mapped[str | None] = mapped_column(Text)  # staff only, never published
    suspended_at: Mapped[datetime | None]
    suspension_public_reason: Mapped[PublicReason | None] = mapped_column(
        EnumText(PublicReason, 32))
    suspension_public_text: Mapped[str | None] = mapped_column(Text)
    suspension_note: Mapped[str | None] = mapped_column(Text)
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    holder: Mapped[User] = relationship(foreign_keys=[user_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    track: Mapped[ContentItem] = relationship()
    track_version: Mapped[ContentVersion] = relationship()
    previous: Mapped[Certificate | None] = relationship(remote_side=[id])
    evidence_record: Mapped[CertificateEvidence] = relationship(cascade="all, delete-orphan")

    @property
    def evidence(self) -> dict[str, Any]:
        """What each requirement rested on: attempts, grades, read dates (or a manual reason)."""
        return self.evidence_record.evidence


class CertificateEvidence(Base):
    """A certificate's evidence, in a table of its own. Verification reads certificate rows all
    day and never this (about 1.6 KB of JSON each): apart, it keeps those rows small, so a
    million of them stay cheap to look up. One row per certificate, written with it."""

    __tablename__ = "certificate_evidence"

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), primary_key=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
