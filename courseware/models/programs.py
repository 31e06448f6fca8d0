"""Mentoring programs: the organisations that decide whether a person may mentor (issue #19).

A program has staff logins (`user.program_id`, role `program`), API keys for its integration
and a roster: the certificates of its mentors that it follows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courseware.domain.clock import utcnow
from courseware.domain.statuses import ProgramStatus, sql_in
from courseware.models.base import Base, EnumText
from courseware.models.certificates import Certificate


class Program(Base):
    __tablename__ = "program"
    __table_args__ = (
        CheckConstraint(sql_in("status", ProgramStatus), name="status"),
        CheckConstraint("length(country) = 2", name="country"),  # ISO 3166-1 alpha-2
        CheckConstraint(f"(status = '{ProgramStatus.REQUESTED}') = (decided_at IS NULL)",
                        name="decided_at"),
        Index("ix_program_status", "status", "created_at"),  # the admin's list of requests
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # where the program is told of failing webhooks and the like: an address, not a person's
    contact_email: Mapped[str] = mapped_column(String(254))
    country: Mapped[str] = mapped_column(String(2))
    status: Mapped[ProgramStatus] = mapped_column(EnumText(ProgramStatus),
                                                  default=ProgramStatus.ACTIVE)
    # what the requester wrote on the public form (who they are, what they run)
    request_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # who decided is in the audit log (a foreign key to user here would make a cycle)
    decided_at: Mapped[datetime | None]


class ApiKey(Base):
    """A program's API key: the key is shown once; only its SHA-256 is kept (a random 256-bit
    key needs no slow hash), with a visible prefix so staff can tell their keys apart."""

    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint("scopes <> ''", name="scopes"),
        CheckConstraint("expires_at IS NULL OR expires_at > created_at", name="dates"),
        Index("ix_api_key_program_id", "program_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(24), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # space-separated ApiScope values, sorted (see the programs domain rules)
    scopes: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None when made on the command line
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    program: Mapped[Program] = relationship()


class RosterEntry(Base):
    """A certificate a program follows (its watch list)."""

    __tablename__ = "roster_entry"
    __table_args__ = (
        # following twice is one entry, whatever races or retries do
        UniqueConstraint("program_id", "certificate_id"),
        Index("ix_roster_entry_certificate_id", "certificate_id"),  # who follows a certificate
        Index("ix_roster_entry_program_page", "program_id", "id"),  # keyset pages
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    added_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    # what was typed or uploaded, if it differs from the code (kept for the program's records)
    note: Mapped[str | None] = mapped_column(String(200))

    program: Mapped[Program] = relationship()
    certificate: Mapped[Certificate] = relationship()
