"""Accounts, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courseware.domain.clock import utcnow
from courseware.domain.statuses import Role, TokenPurpose, sql_in
from courseware.models.base import Base, EnumText


def new_subject_id() -> str:
    """A holder's stable, non-identifying id in credentials (their `sub`)."""
    return f"urn:uuid:{uuid4()}"


class User(Base):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint(sql_in("role", Role), name="role"),
        Index("ix_user_created", "created_at", "id"),  # the admin list, newest first
        Index("ix_user_role", "role"),  # counting learners
        # program staff belong to exactly one program; nobody else belongs to one
        CheckConstraint(f"(role = '{Role.PROGRAM}') = (program_id IS NOT NULL)",
                        name="program"),
        Index("ix_user_program_id", "program_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # stored case-folded: the unique index then refuses "Ann@x.org" beside "ann@x.org"
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(EnumText(Role), default=Role.LEARNER)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # set at login when the password typed is breached or weak: it must be changed first
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # made by `flask demo` for a local trial; a production configuration refuses to start
    demo: Mapped[bool] = mapped_column(default=False)
    # the credentialSubject id of every credential this person holds: never their email
    subject_id: Mapped[str] = mapped_column(String(45), unique=True, default=new_subject_id)
    # set when the address was shown to receive mail (a link followed); a certificate is issued
    # only to a confirmed address. Accounts an operator creates are confirmed from the start.
    email_confirmed_at: Mapped[datetime | None]
    # mail the person may turn off (account mail and news about their work are always sent)
    mail_reminders: Mapped[bool] = mapped_column(default=True, server_default=true())
    mail_digests: Mapped[bool] = mapped_column(default=True, server_default=true())
    # for role `program`: the organisation this login acts for
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"))

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
        return str(self.id)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


# the mentor roster, by name: keyset pages on (lower(name), id) read along this index
Index("ix_user_lower_name", func.lower(User.name), User.id)


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


class UserSession(Base):
    """A login, recorded on the server: the cookie carries a random id, this row its SHA-256.

    Logging out revokes the row, so a copied cookie stops working; a password change,
    deactivation or role change revokes every row of the account."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    device: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed password checks per scope: (account, client), client, account from unknown
    devices, or one known device. Keyed by a hash, whether or not the account exists, so an
    unknown address looks like a real one; every worker process shares one counter."""

    __tablename__ = "login_throttle"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None]


class TotpSecret(Base):
    """An authenticator app's shared secret, sealed under KEY_ENCRYPTION_KEY (never plain)."""

    __tablename__ = "totp_secret"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    sealed_secret: Mapped[str] = mapped_column(Text)
    # the last 30-second step accepted: a code is good once, so a seen code cannot be replayed
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    """One single-use recovery code, stored as a hash (shown once, when made)."""

    __tablename__ = "recovery_code"
    __table_args__ = (Index("ix_recovery_code_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class Passkey(Base):
    """A WebAuthn credential (passkey or security key) registered to an account."""

    __tablename__ = "passkey"
    __table_args__ = (Index("ix_passkey_user_id", "user_id"),
                      CheckConstraint("sign_count >= 0", name="sign_count"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_action", "action"),
        Index("ix_audit_event_target", "target_type", "target_id", "at"),  # one thing's history
    )

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
    # the request (or job) that caused it: the same id as in the request log line
    request_id: Mapped[str | None] = mapped_column(String(64))
    # where the request came from (after TRUSTED_PROXIES), for events recorded on the web
    client_address: Mapped[str | None] = mapped_column(String(45))
