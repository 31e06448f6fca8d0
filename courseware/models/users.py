"""Accounts, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courseware.domain.clock import utcnow
from courseware.domain.statuses import Role, TokenPurpose, sql_in
from courseware.models.base import Base, EnumText


class User(Base):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint(sql_in("role", Role), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # stored case-folded: the unique index then refuses "Ann@x.org" beside "ann@x.org"
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(EnumText(Role), default=Role.LEARNER)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # bumped on password change and deactivation: every older session stops working
    session_version: Mapped[int] = mapped_column(default=1)
    # set when the address was shown to receive mail (a link followed); a certificate is issued
    # only to a confirmed address. Accounts an operator creates are confirmed from the start.
    email_confirmed_at: Mapped[datetime | None]
    # mail the person may turn off (account mail and news about their work are always sent)
    mail_reminders: Mapped[bool] = mapped_column(default=True, server_default=true())
    mail_digests: Mapped[bool] = mapped_column(default=True, server_default=true())

    # Flask-Login protocol, kept here so the model stays the one place that knows it
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class AccountToken(Base):
    """A single-use emailed link: its SHA-256 only, never the token itself."""

    __tablename__ = "account_token"
    __table_args__ = (
        CheckConstraint(sql_in("purpose", TokenPurpose), name="purpose"),
        CheckConstraint("expires_at > created_at", name="dates"),
        CheckConstraint(f"purpose <> '{TokenPurpose.RESET}' OR password_fingerprint IS NOT NULL",
                        name="reset_fingerprint"),
        Index("ix_account_token_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    purpose: Mapped[TokenPurpose] = mapped_column(EnumText(TokenPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the address the link was sent to: for a confirmation, the address it confirms
    email: Mapped[str] = mapped_column(String(254))
    # a reset link dies when the password changes (see courseware.domain.tokens)
    password_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed logins per email address, whether or not an account has it.

    Keyed by a hash of the normalised email, so an attacker sees the same lock-out for an
    unknown address as for a real one, and every worker process shares one counter.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"), Index("ix_audit_event_action", "action"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # who acted, as text: survives user renames and covers the command line ("cli")
    actor_label: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    target_label: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
